import "server-only";
import { createHmac } from "node:crypto";
import { secretsEqual } from "./secrets";

export const SIGNATURE_HEADER = "x-tollgate-signature";

/** `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`: the same scheme the gateway signs with. */
export function signWebhook(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): string {
  const mac = createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
  return `t=${timestamp},v1=${mac}`;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/** Checks the signature in constant time and the timestamp against a window (replays of old requests fail). */
export function verifyWebhook(
  secret: string,
  body: string,
  header: string | null,
  { toleranceSeconds, now = Date.now() }: { toleranceSeconds: number; now?: number },
): SignatureCheck {
  if (!header) return { ok: false, reason: `missing ${SIGNATURE_HEADER} header` };
  const parts = Object.fromEntries(header.split(",").map((p) => p.trim().split("=", 2) as [string, string]));
  const timestamp = Number(parts.t);
  if (!Number.isInteger(timestamp) || !parts.v1) return { ok: false, reason: "malformed signature header" };
  if (Math.abs(now / 1000 - timestamp) > toleranceSeconds) {
    return { ok: false, reason: `timestamp outside the ${toleranceSeconds}s window` };
  }
  const expected = createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
  return secretsEqual(parts.v1, expected) ? { ok: true } : { ok: false, reason: "signature does not match" };
}
