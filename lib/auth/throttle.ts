import "server-only";
import { createHmac, randomBytes } from "node:crypto";
import type { Db } from "@/lib/db/client";
import { secretsEqual } from "@/lib/http/secrets";
import {
  type Bucket,
  clearBuckets,
  giveBackAttempt,
  takeAttempt,
  tooManyAttempts,
} from "@/lib/security/attempts";

// Login throttling (docs/adr/0007-login-throttling.md). Failed attempts are counted in fixed windows per
// bucket, shared by every instance of the control plane:
// - pair:<email>|<ip>  one client guessing one account (ip "unknown" when no trusted proxy reports it);
// - ip:<ip>            one client spraying many accounts (only when the address is known);
// - email:<email>      the global backstop: guesses at one account from all unknown clients together;
// - device:<id>        a known-good client (a signed device cookie from an earlier sign-in to this email).
// A known-good client is judged by its own bucket only, so others' failures never lock its owner out.

export interface ThrottleLimits {
  perIp: number;
  perEmail: number;
  perEmailGlobal: number;
  windowSeconds: number;
}

export interface LoginClient {
  ip: string | null;
  /** The id of a valid device cookie for this email, if the client presented one. */
  deviceId: string | null;
}

export const DEVICE_COOKIE = "tg_device";

/** A device cookie for an email: a random id and an HMAC binding it to the email (SESSION_SECRET). */
export function issueDeviceCookie(email: string, secret: string): string {
  const id = randomBytes(16).toString("base64url");
  return `${id}.${deviceMac(id, email, secret)}`;
}

/** The device id when the cookie was issued for this email by us; otherwise null. */
export function verifyDeviceCookie(value: string | undefined, email: string, secret: string): string | null {
  const [id, mac] = (value ?? "").split(".");
  if (!id || !mac || id.length > 64) return null;
  return secretsEqual(mac, deviceMac(id, email, secret)) ? id : null;
}

function deviceMac(id: string, email: string, secret: string): string {
  return createHmac("sha256", secret).update(`tollgate-device:${id}:${email}`).digest("base64url");
}

function buckets(client: LoginClient, email: string, limits: ThrottleLimits): Bucket[] {
  if (client.deviceId) return [{ bucket: `device:${client.deviceId}`, limit: limits.perEmail }];
  const list: Bucket[] = [
    { bucket: `pair:${email}|${client.ip ?? "unknown"}`, limit: limits.perEmail },
    { bucket: `email:${email}`, limit: limits.perEmailGlobal },
  ];
  if (client.ip) list.push({ bucket: `ip:${client.ip}`, limit: limits.perIp });
  return list;
}

/**
 * Takes the attempt from every one of the client's buckets before the password is checked, all or none, so
 * however many guesses race, at most each bucket's limit are evaluated in a window (429 for the rest). A failed
 * guess keeps its attempt; a success gives it back (loginSucceeded). Returns the window the attempt counts in.
 */
export async function takeLoginAttempt(
  db: Db,
  client: LoginClient,
  email: string,
  limits: ThrottleLimits,
): Promise<Date> {
  const taken = await takeAttempt(db, buckets(client, email, limits), limits.windowSeconds);
  if (taken.taken) return taken.windowStart;
  const wait = `Try again in ${Math.ceil(taken.retryAfter / 60)} minute(s)`;
  throw tooManyAttempts(
    taken.bucket.bucket.startsWith("email:")
      ? `Too many failed sign-in attempts for this account from unrecognised devices. Sign in from a device you have used before, or ${wait.toLowerCase()}.`
      : `Too many failed sign-in attempts. ${wait}.`,
    taken.retryAfter,
  );
}

/**
 * A successful sign-in gives its attempt back and clears the client's own buckets. The global backstop keeps the
 * failures before it: the owner signing in must not hand a distributed guesser a fresh allowance.
 */
export async function loginSucceeded(
  db: Db,
  client: LoginClient,
  email: string,
  limits: ThrottleLimits,
  windowStart: Date,
) {
  const names = buckets(client, email, limits).map((b) => b.bucket);
  await giveBackAttempt(db, names, windowStart);
  await clearBuckets(
    db,
    names.filter((b) => b.startsWith("pair:") || b.startsWith("device:")),
  );
}
