import "server-only";
import { createHmac, randomBytes } from "node:crypto";

export const KEY_PREFIX = "tg_";
const PREFIX_SHOWN = 11; // "tg_" + 8 characters

/** A new API key secret: "tg_" + 240 random bits, base64url. Shown once, never stored. */
export function generateKeySecret(): string {
  return `${KEY_PREFIX}${randomBytes(30).toString("base64url")}`;
}

/**
 * The secret of a platform-managed key (the playground's), derived from its id with a key of its own (itself
 * derived from the pepper): the platform can present it to the gateway whenever it needs to, and it is stored
 * nowhere. Changing KEY_PEPPER invalidates these keys with all others; the playground then makes a new one.
 */
export function managedKeySecret(keyId: string, pepper: string): string {
  const derivation = createHmac("sha256", pepper).update("tollgate managed key v1").digest();
  return `${KEY_PREFIX}${createHmac("sha256", derivation).update(keyId).digest("base64url")}`;
}

export function keyPrefix(secret: string): string {
  return secret.slice(0, PREFIX_SHOWN);
}

/**
 * What the database stores: HMAC-SHA256 keyed with a server pepper. The secrets are high-entropy, so a fast
 * hash is enough against guessing; the pepper means a leaked table alone cannot even confirm a key.
 */
export function hashKey(secret: string, pepper: string): Buffer {
  return createHmac("sha256", pepper).update(secret).digest();
}

export function looksLikeKey(value: string): boolean {
  return value.startsWith(KEY_PREFIX) && value.length >= 20 && value.length <= 200 && /^[\w-]+$/.test(value);
}
