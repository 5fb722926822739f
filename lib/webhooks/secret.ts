import "server-only";
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { config } from "@/lib/config";

// An endpoint's signing secret must be usable to sign, so it cannot be hashed like an API key: it is stored encrypted
// (AES-256-GCM, a fresh IV per secret) with WEBHOOK_ENDPOINT_KEY, else a key derived from KEY_PEPPER, so a copy of
// the database alone signs nothing. The secret is shown once, at creation and at each rotation.

const PREFIX = "whsec_";

/** A new secret in Standard Webhooks form: whsec_ + base64 of 32 random bytes. */
export function generateEndpointSecret(): string {
  return PREFIX + randomBytes(32).toString("base64");
}

function key(): Buffer {
  const cfg = config();
  const material = cfg.WEBHOOK_ENDPOINT_KEY ?? cfg.KEY_PEPPER;
  return Buffer.from(hkdfSync("sha256", material, "tollgate", "webhook endpoint secrets v1", 32));
}

/** v1.<iv>.<tag>.<ciphertext>, each base64url. */
export function sealSecret(secret: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key(), iv);
  const body = Buffer.concat([cipher.update(secret, "utf8"), cipher.final()]);
  return ["v1", iv, cipher.getAuthTag(), body]
    .map((p) => (typeof p === "string" ? p : p.toString("base64url")))
    .join(".");
}

export function openSecret(sealed: string): string {
  const [version, iv, tag, body] = sealed.split(".");
  if (version !== "v1" || !iv || !tag || !body) throw new Error("unreadable endpoint secret");
  const decipher = createDecipheriv("aes-256-gcm", key(), Buffer.from(iv, "base64url"));
  decipher.setAuthTag(Buffer.from(tag, "base64url"));
  return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString("utf8");
}
