import "server-only";
import type { Db } from "@/lib/db/client";
import { AppError } from "@/lib/http/errors";

// Fixed-window counters of failed attempts (sign-in guesses, redemption-code guesses), shared by every instance
// of the control plane through the login_attempts table. A bucket names who is counted (an address, an email,
// a user); each has its own limit.

export interface Bucket {
  bucket: string;
  limit: number;
}

const windowStart = (db: Db, windowSeconds: number) =>
  db`to_timestamp(floor(extract(epoch from now()) / ${windowSeconds}) * ${windowSeconds})`;

/** The first full bucket in the current window, with the seconds until it empties; null when none is. */
export async function fullBucket(
  db: Db,
  buckets: Bucket[],
  windowSeconds: number,
): Promise<{ bucket: Bucket; retryAfter: number } | null> {
  const rows = await db<{ bucket: string; attempts: number; retry_after: number }[]>`
    select bucket, attempts,
           ceil(extract(epoch from window_start + make_interval(secs => ${windowSeconds}) - now()))::int as retry_after
    from login_attempts
    where bucket in ${db(buckets.map((b) => b.bucket))} and window_start = ${windowStart(db, windowSeconds)}`;
  for (const row of rows) {
    const bucket = buckets.find((b) => b.bucket === row.bucket)!;
    if (row.attempts >= bucket.limit) return { bucket, retryAfter: Math.max(1, row.retry_after) };
  }
  return null;
}

/** The 429 for a full bucket, with Retry-After. */
export function tooManyAttempts(message: string, retryAfter: number): AppError {
  return new AppError(
    "rate_limited",
    message,
    { retryAfterSeconds: retryAfter },
    { "retry-after": String(retryAfter) },
  );
}

/** Counts one failed attempt in each bucket (and drops windows that can no longer matter). */
export async function recordFailure(db: Db, buckets: string[], windowSeconds: number): Promise<void> {
  for (const bucket of buckets) {
    await db`
      insert into login_attempts (bucket, window_start, attempts)
      values (${bucket}, ${windowStart(db, windowSeconds)}, 1)
      on conflict (bucket, window_start) do update set attempts = login_attempts.attempts + 1`;
  }
  await db`delete from login_attempts where window_start < now() - make_interval(secs => ${windowSeconds * 2})`;
}

export async function clearBuckets(db: Db, buckets: string[]): Promise<void> {
  if (buckets.length) await db`delete from login_attempts where bucket in ${db(buckets)}`;
}
