import type { Db } from "@/lib/db/client";
import { AppError } from "@/lib/http/errors";

export interface ThrottleLimits {
  perIp: number;
  perEmail: number;
  windowSeconds: number;
}

function buckets(ip: string | null, email: string): string[] {
  return ip ? [`email:${email}`, `ip:${ip}`] : [`email:${email}`];
}

/** Refuses the attempt when the IP or the email has had too many failed logins in the current window. */
export async function assertLoginAllowed(db: Db, ip: string | null, email: string, limits: ThrottleLimits) {
  const list = buckets(ip, email);
  const rows = await db<{ bucket: string; attempts: number; retry_after: number }[]>`
    select bucket, attempts,
           ceil(extract(epoch from window_start + make_interval(secs => ${limits.windowSeconds}) - now()))::int as retry_after
    from login_attempts
    where bucket in ${db(list)}
      and window_start = to_timestamp(floor(extract(epoch from now()) / ${limits.windowSeconds}) * ${limits.windowSeconds})`;
  for (const row of rows) {
    const limit = row.bucket.startsWith("ip:") ? limits.perIp : limits.perEmail;
    if (row.attempts >= limit) {
      const retryAfter = Math.max(1, row.retry_after);
      throw new AppError(
        "rate_limited",
        `Too many failed sign-in attempts. Try again in ${Math.ceil(retryAfter / 60)} minute(s).`,
        { retryAfterSeconds: retryAfter },
        { "retry-after": String(retryAfter) },
      );
    }
  }
}

export async function recordLoginFailure(db: Db, ip: string | null, email: string, windowSeconds: number) {
  for (const bucket of buckets(ip, email)) {
    await db`
      insert into login_attempts (bucket, window_start, attempts)
      values (${bucket}, to_timestamp(floor(extract(epoch from now()) / ${windowSeconds}) * ${windowSeconds}), 1)
      on conflict (bucket, window_start) do update set attempts = login_attempts.attempts + 1`;
  }
  // Old windows are useless: keep the table small.
  await db`delete from login_attempts where window_start < now() - make_interval(secs => ${windowSeconds * 2})`;
}

export async function clearLoginFailures(db: Db, email: string) {
  await db`delete from login_attempts where bucket = ${`email:${email}`}`;
}
