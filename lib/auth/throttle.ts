import "server-only";
import { createHmac, randomBytes } from "node:crypto";
import type { Db } from "@/lib/db/client";
import { AppError } from "@/lib/http/errors";
import { secretsEqual } from "@/lib/http/secrets";

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

function buckets(client: LoginClient, email: string): { bucket: string; limit: keyof ThrottleLimits }[] {
  if (client.deviceId) return [{ bucket: `device:${client.deviceId}`, limit: "perEmail" }];
  const list: { bucket: string; limit: keyof ThrottleLimits }[] = [
    { bucket: `pair:${email}|${client.ip ?? "unknown"}`, limit: "perEmail" },
    { bucket: `email:${email}`, limit: "perEmailGlobal" },
  ];
  if (client.ip) list.push({ bucket: `ip:${client.ip}`, limit: "perIp" });
  return list;
}

const windowStart = (db: Db, windowSeconds: number) =>
  db`to_timestamp(floor(extract(epoch from now()) / ${windowSeconds}) * ${windowSeconds})`;

/** Refuses the attempt (429) when one of the client's buckets is full in the current window. */
export async function assertLoginAllowed(db: Db, client: LoginClient, email: string, limits: ThrottleLimits) {
  const list = buckets(client, email);
  const rows = await db<{ bucket: string; attempts: number; retry_after: number }[]>`
    select bucket, attempts,
           ceil(extract(epoch from window_start + make_interval(secs => ${limits.windowSeconds}) - now()))::int as retry_after
    from login_attempts
    where bucket in ${db(list.map((b) => b.bucket))} and window_start = ${windowStart(db, limits.windowSeconds)}`;
  for (const row of rows) {
    const { limit } = list.find((b) => b.bucket === row.bucket)!;
    if (row.attempts < (limits[limit] as number)) continue;
    const retryAfter = Math.max(1, row.retry_after);
    const wait = `Try again in ${Math.ceil(retryAfter / 60)} minute(s)`;
    throw new AppError(
      "rate_limited",
      limit === "perEmailGlobal"
        ? `Too many failed sign-in attempts for this account from unrecognised devices. Sign in from a device you have used before, or ${wait.toLowerCase()}.`
        : `Too many failed sign-in attempts. ${wait}.`,
      { retryAfterSeconds: retryAfter },
      { "retry-after": String(retryAfter) },
    );
  }
}

export async function recordLoginFailure(db: Db, client: LoginClient, email: string, windowSeconds: number) {
  for (const { bucket } of buckets(client, email)) {
    await db`
      insert into login_attempts (bucket, window_start, attempts)
      values (${bucket}, ${windowStart(db, windowSeconds)}, 1)
      on conflict (bucket, window_start) do update set attempts = login_attempts.attempts + 1`;
  }
  // Old windows are useless: keep the table small.
  await db`delete from login_attempts where window_start < now() - make_interval(secs => ${windowSeconds * 2})`;
}

/**
 * A successful sign-in clears the client's own buckets. The global backstop is not cleared: the owner
 * signing in must not hand a distributed guesser a fresh allowance.
 */
export async function clearLoginFailures(db: Db, client: LoginClient, email: string) {
  const own = buckets(client, email)
    .map((b) => b.bucket)
    .filter((b) => b.startsWith("pair:") || b.startsWith("device:"));
  await db`delete from login_attempts where bucket in ${db(own)}`;
}
