import "server-only";
// Tollgate's Postgres job queue: states, priorities, run-after, retries with exponential backoff and jitter,
// dead letters (a dead job keeps no payload `token`: a secret a job carries, such as an invitation link's, lives only
// while the job may still run), leases that expire when a worker dies, singleton (dedup) keys, enqueue inside the caller's
// transaction, and archival. Claimed in one statement with FOR UPDATE SKIP LOCKED. See docs/adr/0005.
import type { Db } from "@/lib/db/client";

export type JobState = "created" | "active" | "completed" | "retry" | "dead";

export interface Job<P = Record<string, unknown>> {
  id: string;
  name: string;
  payload: P;
  state: JobState;
  priority: number;
  attempts: number;
  maxAttempts: number;
  singletonKey: string | null;
  runAfter: Date;
  leaseExpiresAt: Date | null;
  lastError: string | null;
}

export interface EnqueueOptions {
  priority?: number;
  /** Not before this time (default now). */
  runAfter?: Date;
  /** Delay in seconds (alternative to runAfter). */
  delaySeconds?: number;
  maxAttempts?: number;
  /** First retry delay; doubles each attempt, with jitter. */
  backoffBaseMs?: number;
  /** At most one unfinished job per key: enqueueing again returns the existing one. */
  singletonKey?: string;
}

const columns = (db: Db) => db`
  q.id::text as id, q.name, q.payload, q.state, q.priority, q.attempts, q.max_attempts as "maxAttempts",
  q.singleton_key as "singletonKey", q.run_after as "runAfter", q.lease_expires_at as "leaseExpiresAt",
  q.last_error as "lastError"`;

/**
 * Adds a job. Pass the caller's transaction as db to enqueue atomically with other writes (rolled back with
 * them). With a singleton key already unfinished, returns that job and `created: false`.
 */
export async function enqueue<P extends Record<string, unknown>>(
  db: Db,
  name: string,
  payload: P,
  options: EnqueueOptions = {},
): Promise<{ job: Job<P>; created: boolean }> {
  const runAfter = options.runAfter ?? new Date(Date.now() + (options.delaySeconds ?? 0) * 1000);
  const singletonKey = options.singletonKey ?? null;
  const rows = await db<Job<P>[]>`
    insert into queue_jobs as q (name, payload, priority, run_after, max_attempts, backoff_base_ms, singleton_key)
    values (${name}, ${db.json(payload as never)}, ${options.priority ?? 0}, ${runAfter}, ${options.maxAttempts ?? 5},
            ${options.backoffBaseMs ?? 1000}, ${singletonKey})
    on conflict (singleton_key) where singleton_key is not null and state in ('created', 'active', 'retry') do nothing
    returning ${columns(db)}`;
  if (rows[0]) return { job: rows[0], created: true };
  const [existing] = await db<Job<P>[]>`
    select ${columns(db)} from queue_jobs q where q.singleton_key = ${singletonKey} and q.state in ('created', 'active', 'retry')`;
  return { job: existing!, created: false };
}

/**
 * Returns jobs whose lease expired (their worker died) to the queue: retry, or dead when out of attempts.
 * Cheap (a partial index over active jobs); claim() runs it first.
 */
export async function reapExpired(db: Db): Promise<number> {
  const rows = await db`
    update queue_jobs set
      state = case when attempts >= max_attempts then 'dead' else 'retry' end,
      completed_at = case when attempts >= max_attempts then now() end,
      payload = case when attempts >= max_attempts then payload - 'token' else payload end,
      locked_by = null, lease_expires_at = null, last_error = coalesce(last_error, 'lease expired')
    where state = 'active' and lease_expires_at < now()
    returning id`;
  return rows.length;
}

/**
 * Claims up to `batch` runnable jobs in one statement: created or due for retry, run_after passed, highest
 * priority first (after reaping expired leases). Concurrent claimers skip each other's rows, so a job is never
 * handed to two workers at once; the claim reads only the partial index of runnable jobs.
 */
export async function claim(
  db: Db,
  {
    names,
    batch = 1,
    leaseSeconds = 60,
    worker,
  }: { names?: string[]; batch?: number; leaseSeconds?: number; worker: string },
): Promise<Job[]> {
  await reapExpired(db);
  return db<Job[]>`
    with next as (
      select id from queue_jobs
      where state in ('created', 'retry') and run_after <= now()
        ${names?.length ? db`and name in ${db(names)}` : db``}
      order by priority desc, run_after, id
      limit ${batch}
      for update skip locked
    )
    update queue_jobs q set state = 'active', attempts = q.attempts + 1, locked_by = ${worker},
      lease_expires_at = now() + make_interval(secs => ${leaseSeconds}), started_at = coalesce(q.started_at, now())
    from next where q.id = next.id
    returning ${columns(db)}`;
}

/** Marks a claimed job done (only by the worker that holds it). */
export async function complete(db: Db, id: string, worker: string, result: unknown = null): Promise<boolean> {
  const rows = await db`
    update queue_jobs set state = 'completed', completed_at = now(), lease_expires_at = null,
      result = ${db.json((result ?? null) as never)}, last_error = null
    where id = ${id} and state = 'active' and locked_by = ${worker}
    returning id`;
  return rows.length > 0;
}

/**
 * Hands claimed jobs back unrun (only by the worker that holds them), as they were before the claim: due now, the
 * attempt not counted. A drain whose time ran out releases the rest of its batch rather than start a job it may not
 * finish before its function is cut. A job was 'retry' before its claim when it had an attempt already, or when an
 * admin put it back from the dead (attempts 0, its last error kept); a job never run has no error.
 */
export async function release(db: Db, ids: string[], worker: string): Promise<number> {
  if (!ids.length) return 0;
  const rows = await db`
    update queue_jobs set
      state = case when attempts > 1 or last_error is not null then 'retry' else 'created' end,
      attempts = attempts - 1,
      started_at = case when attempts > 1 then started_at end,
      run_after = now(), lease_expires_at = null, locked_by = null
    where id in ${db(ids)} and state = 'active' and locked_by = ${worker}
    returning id`;
  return rows.length;
}

/** Backoff before the next attempt: base × 2^(attempts−1), ±50% jitter, capped at an hour. */
export function backoffMs(attempts: number, baseMs: number, random = Math.random): number {
  const step = Math.min(3_600_000, baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(step * (0.5 + random()));
}

/** A failed attempt: retry after backoff, or dead when out of attempts. */
export async function fail(db: Db, id: string, worker: string, error: unknown): Promise<JobState | null> {
  const message = (error instanceof Error ? error.message : String(error)).slice(0, 2000);
  const [job] = await db<{ attempts: number; max_attempts: number; backoff_base_ms: number }[]>`
    select attempts, max_attempts, backoff_base_ms from queue_jobs
    where id = ${id} and state = 'active' and locked_by = ${worker}`;
  if (!job) return null;
  const dead = job.attempts >= job.max_attempts;
  const delay = backoffMs(job.attempts, job.backoff_base_ms);
  await db`
    update queue_jobs set
      state = ${dead ? "dead" : "retry"},
      payload = ${dead ? db`payload - 'token'` : db`payload`},
      run_after = now() + make_interval(secs => ${delay / 1000}),
      lease_expires_at = null, locked_by = null, last_error = ${message},
      completed_at = ${dead ? db`now()` : null}
    where id = ${id}`;
  return dead ? "dead" : "retry";
}

/** Puts a dead job back in line with fresh attempts (an admin action): its attempts start over, and so does its
 * started_at, which the next claim sets (so a claim of it released unrun leaves it as the admin put it back). */
export async function retryDead(db: Db, id: string): Promise<boolean> {
  const rows = await db`
    update queue_jobs set state = 'retry', attempts = 0, run_after = now(), completed_at = null, started_at = null
    where id = ${id} and state = 'dead' returning id`;
  return rows.length > 0;
}

/** Deletes completed jobs older than the retention; returns how many. */
export async function archiveCompleted(db: Db, olderThanHours = 24 * 7): Promise<number> {
  const rows = await db`
    delete from queue_jobs where state = 'completed' and completed_at < now() - make_interval(hours => ${olderThanHours})
    returning id`;
  return rows.length;
}

export async function queueStats(db: Db): Promise<Record<JobState, number>> {
  const rows = await db<
    { state: JobState; n: number }[]
  >`select state, count(*)::int as n from queue_jobs group by state`;
  const stats = { created: 0, active: 0, completed: 0, retry: 0, dead: 0 };
  for (const r of rows) stats[r.state] = r.n;
  return stats;
}

export async function deadJobs(db: Db, limit = 50): Promise<Job[]> {
  return db<
    Job[]
  >`select ${columns(db)} from queue_jobs q where q.state = 'dead' order by q.completed_at desc limit ${limit}`;
}

/** Completes many claimed jobs in one statement (batch workers). Returns how many were completed. */
export async function completeMany(db: Db, ids: string[], worker: string): Promise<number> {
  if (!ids.length) return 0;
  const rows = await db`
    update queue_jobs set state = 'completed', completed_at = now(), lease_expires_at = null, last_error = null
    where id in ${db(ids)} and state = 'active' and locked_by = ${worker}
    returning id`;
  return rows.length;
}
