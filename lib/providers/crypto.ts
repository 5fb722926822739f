import "server-only";
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { type Config, config } from "@/lib/config";

// Provider credentials (BYOK, issue 29) are sealed with AES-256-GCM under an envelope key from the environment
// (PROVIDER_KEYS: the first seals, every one opens; else one key derived from KEY_PEPPER, id "p0"). The sealed text
// names the key that sealed it, so rotation (lib/providers/rotate.ts) re-seals row by row and old keys can go once
// no row names them. A copy of the database alone opens nothing.

export interface EnvelopeKey {
  id: string;
  key: Buffer;
}

/** The envelope keys, the sealing one first; the key derived from KEY_PEPPER (p0) always opens, so moving from it to
 *  PROVIDER_KEYS needs only a rotation. */
export function envelopeKeys(cfg: Config = config()): EnvelopeKey[] {
  const derived = {
    id: "p0",
    key: Buffer.from(hkdfSync("sha256", cfg.KEY_PEPPER, "tollgate", "provider credentials v1", 32)),
  };
  const listed = cfg.PROVIDER_KEYS ?? [];
  return listed.some((k) => k.id === "p0") ? listed : [...listed, derived];
}

/** The key id a sealed credential names (rotation re-seals those not named by the first key). */
export function sealedKeyId(sealed: string): string {
  return sealed.slice(0, sealed.indexOf(":"));
}

/** <key id>:v1.<iv>.<tag>.<ciphertext>, each base64url; the key id is authenticated as associated data. */
export function sealCredential(secret: string, keys: EnvelopeKey[] = envelopeKeys()): string {
  const { id, key } = keys[0]!;
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(id));
  const body = Buffer.concat([cipher.update(secret, "utf8"), cipher.final()]);
  return `${id}:${["v1", iv.toString("base64url"), cipher.getAuthTag().toString("base64url"), body.toString("base64url")].join(".")}`;
}

export class UnreadableCredential extends Error {
  constructor(reason: string) {
    super(`unreadable provider credential: ${reason}`);
    this.name = "UnreadableCredential";
  }
}

export function openCredential(sealed: string, keys: EnvelopeKey[] = envelopeKeys()): string {
  const at = sealed.indexOf(":");
  const id = sealed.slice(0, at);
  const [version, iv, tag, body] = sealed.slice(at + 1).split(".");
  if (at < 1 || version !== "v1" || !iv || !tag || body === undefined)
    throw new UnreadableCredential("bad form");
  const envelope = keys.find((k) => k.id === id);
  if (!envelope) throw new UnreadableCredential(`envelope key ${id} is not configured`);
  const decipher = createDecipheriv("aes-256-gcm", envelope.key, Buffer.from(iv, "base64url"));
  decipher.setAAD(Buffer.from(id));
  decipher.setAuthTag(Buffer.from(tag, "base64url"));
  try {
    return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString(
      "utf8",
    );
  } catch {
    throw new UnreadableCredential("authentication failed");
  }
}

/** What is ever shown of a secret: its start's family and its last 4 characters (sk-…abcd). */
export function maskedSecret(hint: string, provider: string): string {
  const start = provider === "anthropic" ? "sk-ant-" : provider === "openai" ? "sk-" : "";
  return `${start}…${hint}`;
}
