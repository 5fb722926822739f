import "server-only";
import { type Db, inTransaction } from "@/lib/db/client";
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

/** A full bucket met while taking an attempt: the transaction that took the others' attempts is rolled back. */
class BucketFull extends Error {
  constructor(
    readonly bucket: Bucket,
    readonly retryAfter: number,
  ) {
    super(`bucket ${bucket.bucket} is full`);
  }
}

export type TakenAttempt =
  | { taken: true; windowStart: Date }
  | { taken: false; bucket: Bucket; retryAfter: number };

/**
 * Takes one attempt from every bucket, all or none, before the attempt is evaluated. Each bucket's count goes up
 * only while it is under its limit, and the upsert re-checks the limit on the row it has locked, so however many
 * attempts race, at most `limit` are taken in a window. Buckets are locked in one order (sorted), so two
 * attempts sharing buckets cannot deadlock. An attempt refused by one full bucket counts in none.
 */
export async function takeAttempt(db: Db, buckets: Bucket[], windowSeconds: number): Promise<TakenAttempt> {
  const ordered = [...buckets].sort((a, b) => (a.bucket < b.bucket ? -1 : a.bucket > b.bucket ? 1 : 0));
  try {
    const takenIn = await inTransaction(db, async (tx) => {
      const [window] = await tx<{ start: Date; retry_after: number }[]>`
        select w.start,
               ceil(extract(epoch from w.start + make_interval(secs => ${windowSeconds}) - now()))::int as retry_after
        from (select ${windowStart(tx, windowSeconds)} as start) w`;
      for (const bucket of ordered) {
        const [row] = await tx`
          insert into login_attempts (bucket, window_start, attempts)
          values (${bucket.bucket}, ${window!.start}, 1)
          on conflict (bucket, window_start) do update set attempts = login_attempts.attempts + 1
            where login_attempts.attempts < ${bucket.limit}
          returning 1`;
        if (!row) throw new BucketFull(bucket, Math.max(1, window!.retry_after));
      }
      return window!.start;
    });
    // Outside the transaction: old windows are nobody's, and deleting them holds no bucket's lock.
    await db`delete from login_attempts where window_start < now() - make_interval(secs => ${windowSeconds * 2})`;
    return { taken: true, windowStart: takenIn };
  } catch (error) {
    if (error instanceof BucketFull)
      return { taken: false, bucket: error.bucket, retryAfter: error.retryAfter };
    throw error;
  }
}

/**
 * Gives back an attempt taken in a window (one that succeeded: only failures are limited). Failures already
 * counted stay counted: a success never clears them.
 */
export async function giveBackAttempt(db: Db, buckets: string[], windowStart: Date): Promise<void> {
  if (!buckets.length) return;
  await db`
    update login_attempts set attempts = attempts - 1
    where bucket in ${db(buckets)} and window_start = ${windowStart} and attempts > 0`;
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

export async function clearBuckets(db: Db, buckets: string[]): Promise<void> {
  if (buckets.length) await db`delete from login_attempts where bucket in ${db(buckets)}`;
}
