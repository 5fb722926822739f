import "server-only";
import type { Db, Sql } from "@/lib/db/client";
import { inTransaction, platformNow } from "@/lib/db/client";
import { log } from "@/lib/log";
import { enqueue } from "@/lib/queue";
import { orgRows } from "@/lib/usage/columns";
import { getRetentionSettings } from "./policy";

// The daily retention job (docs/adr/0022-usage-retention.md). Usage detail past the platform's retention leaves by
// whole daily partitions, found through the catalog (usage_partitions()), each dropped only when its day was settled
// and its detail (plus what retention trimmed from it) equals both roll-ups exactly (retention_day_check); an
// organization with a shorter policy loses its own rows from closed days in bounded batches (the one exception to
// "never DELETE usage detail"); hourly roll-ups and playground conversations past their policy leave in bounded
// batches. The ledger, balances and daily roll-ups are never touched.

export const RETENTION_JOB = "retention.run";

const DAY_MS = 86_400_000;

/** A UTC day (YYYY-MM-DD) `n` days after `day`. */
export function addUtcDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
}

/** The UTC day of a moment. */
export const utcDayOf = (at: Date) => at.toISOString().slice(0, 10);

export type RefusalReason =
  | "not_settled"
  | "settlement_running"
  | "rollups_disagree"
  | "late_rows"
  | "failed";

export interface DayVerdict {
  day: string;
  ok: boolean;
  reason?: RefusalReason;
  detail: Record<string, unknown>;
}

export interface RetentionOptions {
  trigger?: "cron" | "manual";
  /** The moment the run stands at; default tollgate_now() (the injected clock, else now()). */
  asOf?: Date;
  /** Rows per DELETE statement (organization trims, hourly roll-ups, conversations). */
  batch?: number;
  /** Stop starting new work after this moment (ms since epoch); what is left is done by the next run. */
  deadline?: number;
  /** Lock wait for a plain DETACH before the day is refused and left to the next run. */
  lockTimeoutMs?: number;
  /** At most one look at how far the claims horizon may go per this many minutes (default HORIZON_EVERY_MINUTES). */
  horizonEveryMinutes?: number;
}

export interface RetentionSummary {
  runId: string;
  asOf: string;
  detailCutoff: string;
  partitionsDropped: number;
  daysRefused: number;
  detailRowsDropped: number;
  bytesDropped: number;
  orgRowsTrimmed: number;
  hourlyRowsDeleted: number;
  /** The dashboard's per-day owner roll-ups (usage_owner_days and usage_owner_activity rows) past the same cutoff. */
  ownerRowsDeleted: number;
  conversationsDeleted: number;
  /** Idempotency claims (usage_calls) of the dropped days, removed after their partitions. */
  callsPruned: number;
  /** Time spent checking the dropped days against their roll-ups (a scan of each day). */
  verifyMs: number;
  /** Time spent detaching and dropping partitions (catalog work, no scan). */
  dropMs: number;
  refused: { day: string; reason: RefusalReason }[];
  /** The deadline came first: a follow-up job was queued to go on where this run stopped. */
  continued: boolean;
}

interface Partition {
  name: string;
  is_default: boolean;
  from_at: Date | null;
  to_at: Date | null;
  bytes: bigint;
}

/** Thrown when runRetention is given a transaction: it runs its own, one per partition (pass the pool). */
export class RetentionInTransactionError extends Error {
  constructor() {
    super("runRetention runs its own transactions, one per partition: pass the pool, not a transaction");
    this.name = "RetentionInTransactionError";
  }
}

/** Whether `db` is a transaction (postgres.js TransactionSql). */
const isTransaction = (db: Db) => !("begin" in db);

/** A partition bound postgres.js could not read (a BC day, a year past JavaScript's dates) is an Invalid Date. */
const validDate = (d: Date | null): d is Date => d instanceof Date && !Number.isNaN(d.getTime());

/** How long one attempt at the drop's ACCESS EXCLUSIVE lock on usage_events may wait (every writer queues behind it). */
export const DROP_LOCK_WAIT_MS = 150;
/** Days the idempotency claims (usage_calls) outlive the platform's detail: replays and late reports stay refused. */
export const CLAIM_MARGIN_DAYS = 7;
/** How often (of the runs' moments) retention looks how far the claims horizon may go (each look reads the default
 *  partition and the open holds): a run continued by the drain within it leaves the horizon where it is. */
export const HORIZON_EVERY_MINUTES = 15;
/** The gateway's replay window: no organization trim reaches a day this recent (an upgrade of a trimmed call). */
export const REPLAY_WINDOW_DAYS = 7;

/**
 * A day's settlement as retention sees it: a run of the day still running (a new settlement of it whose chunks are
 * recomputing the roll-ups) refuses it even after an earlier run completed; else a completed run is needed.
 */
async function settlementOf(db: Db, day: string): Promise<DayVerdict | { finishedAt: Date | null }> {
  const [run] = await db<{ running: boolean; finished_at: Date | null; completed: boolean }[]>`
    select bool_or(status = 'running') as running, bool_or(status = 'completed') as completed,
           max(finished_at) filter (where status = 'completed') as finished_at
    from settlement_runs where day = ${day}`;
  if (run?.running) return { day, ok: false, reason: "settlement_running", detail: {} };
  if (!run?.completed) return { day, ok: false, reason: "not_settled", detail: {} };
  return { finishedAt: run.finished_at };
}

/** A day may leave only when its settlement has run and its detail equals its roll-ups (and trims), exactly. */
export async function verifyDay(db: Db, day: string, extra?: string): Promise<DayVerdict> {
  const settled = await settlementOf(db, day);
  if ("ok" in settled) return settled;
  const checks = await db<{ grain: string; groups: bigint; mismatched: bigint; detail_rows: bigint }[]>`
    select grain, groups, mismatched, detail_rows from retention_day_check(${day}::date, ${extra ?? null}::regclass)`;
  const detail: Record<string, unknown> = {
    rows: Number(checks[0]?.detail_rows ?? 0),
    settledAt: settled.finishedAt?.toISOString() ?? null,
  };
  for (const c of checks) detail[c.grain] = { groups: Number(c.groups), mismatched: Number(c.mismatched) };
  const ok = checks.every((c) => c.mismatched === 0n);
  return ok ? { day, ok, detail } : { day, ok, reason: "rollups_disagree", detail };
}

/**
 * Closes a partition's UTC days before it is dropped (close_usage_days, docs/adr/0032): from its commit settle_usage
 * records no UUIDv7 call of them. Returns the days it closed (not those closed before).
 */
async function closeDays(db: Db, days: string[]): Promise<string[]> {
  if (!days.length) return [];
  const rows = await db<{ day: string }[]>`
    select to_char(d, 'YYYY-MM-DD') as day from close_usage_days(${days}::date[]) d`;
  return rows.map((r) => r.day);
}

/**
 * In the drop's own transaction, before its check: each of the partition's days must still be closed. Another run (two
 * at once: a job and its continuation) may have opened a day again after this run closed it, and a batch may then have
 * recorded a call of it that this drop would take with it; then the drop is abandoned (the day is refused, the next run
 * tries again). The rows are locked to the commit, so no run opens a day meanwhile. Returns the refusal, or null.
 */
async function stillClosed(tx: Db, p: Partition): Promise<DayVerdict | null> {
  const days = daysTouched(p);
  const closed = await tx<{ day: string }[]>`
    select to_char(day, 'YYYY-MM-DD') as day from usage_closed_days where day = any(${days}::date[]) for update`;
  return closed.length === days.length
    ? null
    : { day: days[0]!, ok: false, reason: "failed", detail: { reopenedByAnotherRun: true } };
}

/** With the DROP, in its transaction: the partition's days stay closed for good (a late call of another kind that makes
 *  a day's partition again changes nothing). */
async function markDropped(tx: Db, p: Partition) {
  await tx`update usage_closed_days set dropped = true where day = any(${daysTouched(p)}::date[])`;
}

/** Every UTC day a partition's range touches, a part of one too (its days as settle_usage closes them). */
function daysTouched(p: Partition): string[] {
  const days: string[] = [];
  for (let d = utcDayOf(p.from_at!); Date.parse(`${d}T00:00:00Z`) < p.to_at!.getTime(); d = addUtcDays(d, 1))
    days.push(d);
  return days;
}

function daysOf(p: Partition): string[] {
  const days: string[] = [];
  for (let d = utcDayOf(p.from_at!); d < utcDayOf(p.to_at!); d = addUtcDays(d, 1)) days.push(d);
  return days;
}

async function record(
  db: Db,
  runId: string,
  day: string,
  action: "dropped" | "refused" | "trimmed",
  fields: {
    partition?: string;
    accountId?: string;
    rows?: number;
    bytes?: bigint;
    reason?: string;
    detail?: Record<string, unknown>;
  },
) {
  await db`
    insert into retention_actions (run_id, day, action, partition_name, account_id, rows, bytes, reason, detail)
    values (${runId}, ${day}, ${action}, ${fields.partition ?? null}, ${fields.accountId ?? null}, ${fields.rows ?? 0},
            ${fields.bytes ?? 0n}, ${fields.reason ?? null}, ${db.json((fields.detail ?? {}) as never)})`;
}

async function refuse(
  db: Db,
  runId: string,
  verdict: DayVerdict,
  partition: string | undefined,
  summary: RetentionSummary,
) {
  const reason = verdict.reason ?? "failed";
  summary.daysRefused++;
  summary.refused.push({ day: verdict.day, reason });
  log().warn(
    { day: verdict.day, partition, reason, detail: verdict.detail },
    "retention refused to drop a day",
  );
  await record(db, runId, verdict.day, "refused", { partition, reason, detail: verdict.detail });
}

/**
 * One scan of a partition (retention_partition_check): its days compared with both roll-ups (with what retention
 * already trimmed from them) and, when every day agrees and `keep`, its rows' sums added to retention_trimmed_usage in
 * the same statement, at the grain of both roll-ups: the day's detail plus what retention removed equals its roll-ups
 * forever, so a new settlement of the day (a late call made its partition again, an admin re-running it) rebuilds the
 * same roll-ups. The caller holds the partition against writes to its DROP, so the sums are those of the rows dropped.
 */
async function checkPartition(
  tx: Db,
  table: string,
  days: string[],
  settledAt: Map<string, Date | null>,
  keep: boolean,
): Promise<DayVerdict[]> {
  const checks = await tx<
    { day: string; grain: string; groups: bigint; mismatched: bigint; detail_rows: bigint }[]
  >`
    select to_char(day, 'YYYY-MM-DD') as day, grain, groups, mismatched, detail_rows
    from retention_partition_check(${table}::regclass, ${days}::date[], ${keep})`;
  type Check = (typeof checks)[number];
  const byDay = new Map<string, Check[]>();
  for (const c of checks) byDay.set(c.day, [...(byDay.get(c.day) ?? []), c]);
  return [...byDay].map(([day, rows]) => {
    const detail: Record<string, unknown> = {
      rows: Number(rows[0]?.detail_rows ?? 0),
      settledAt: settledAt.get(day)?.toISOString() ?? null,
    };
    for (const c of rows) detail[c.grain] = { groups: Number(c.groups), mismatched: Number(c.mismatched) };
    const ok = rows.every((c) => c.mismatched === 0n);
    return ok ? { day, ok, detail } : { day, ok, reason: "rollups_disagree" as const, detail };
  });
}

/**
 * The days' settlements (no scan, no lock): the first verdict that refuses a day of the partition, else when each
 * day's settlement finished.
 */
async function settlementsOf(
  db: Db,
  days: string[],
): Promise<{ refusal?: DayVerdict; settledAt: Map<string, Date | null> }> {
  const settledAt = new Map<string, Date | null>();
  for (const day of days) {
    const settled = await settlementOf(db, day);
    if ("ok" in settled) return { refusal: settled, settledAt };
    settledAt.set(day, settled.finishedAt);
  }
  return { settledAt };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How often the drop's transaction looks for a writer waiting on the partition it holds (giveWay). */
export const GIVE_WAY_POLL_MS = 25;

/**
 * While the drop's transaction (backend `pid`, begun at `began`) holds a partition locked against writes, a request
 * waiting for a lock on that partition — a late call's insert, which has its key rows (and usage_events) locked by
 * then — cancels the transaction's statement within GIVE_WAY_POLL_MS: the writer goes on, the day is refused for this
 * run (late_rows) and the next run checks it with the new row. So ingest never waits for a day's check, and the DROP
 * (which needs usage_events, held by that writer) is never left waiting for a lock it cannot get. Polled from the
 * pool (another connection); `stop` before the commit.
 */
function giveWay(db: Db, partition: number, pid: number, began: string) {
  let stopped = false;
  let gaveWay = false;
  const polling = (async () => {
    while (!stopped) {
      await sleep(GIVE_WAY_POLL_MS);
      if (stopped) return;
      try {
        const [row] = await db<{ cancelled: boolean }[]>`
          select pg_cancel_backend(a.pid) as cancelled from pg_stat_activity a
          where a.pid = ${pid} and a.xact_start::text = ${began} and a.state = 'active'
            and exists (select 1 from pg_locks l
                        where l.locktype = 'relation' and l.relation = ${partition}::oid and not l.granted
                          and l.pid <> ${pid})`;
        if (row?.cancelled) gaveWay = true;
      } catch {
        return; // The pool is closing: the transaction ends on its own.
      }
    }
  })();
  return {
    /** Stops polling; resolves once a poll in flight has answered (so gaveWay() counts a cancel it sent). */
    stop: () => {
      stopped = true;
      return polling;
    },
    gaveWay: () => gaveWay,
  };
}

/**
 * The lock-free path (no default partition): the partition's days checked, DETACH … CONCURRENTLY (no lock that stops
 * the table's readers and writers), then in the dropping transaction the detached rows checked again and their sums
 * kept in one scan (a row that arrived between the first check and the detach is in them) and the partition attached
 * back if anything changed; else it is dropped.
 */
async function dropPartition(db: Db, runId: string, p: Partition, summary: RetentionSummary): Promise<void> {
  const days = daysOf(p);
  let started = performance.now();
  const { refusal, settledAt } = await settlementsOf(db, days);
  if (refusal) return refuse(db, runId, refusal, p.name, summary);
  const verdicts: DayVerdict[] = [];
  for (const day of days) verdicts.push(await verifyDay(db, day));
  summary.verifyMs += performance.now() - started;
  const bad = verdicts.find((v) => !v.ok);
  if (bad) return refuse(db, runId, bad, p.name, summary);
  started = performance.now();
  await db`alter table usage_events detach partition ${db(p.name)} concurrently`;
  summary.dropMs += performance.now() - started;
  const outcome = await inTransaction(db, async (tx) => {
    const reopened = await stillClosed(tx, p);
    if (reopened) return { late: reopened };
    const checking = performance.now();
    const again = await checkPartition(tx, p.name, days, settledAt, true);
    summary.verifyMs += performance.now() - checking;
    const late = again.find((v) => !v.ok);
    if (late) return { late };
    const dropping = performance.now();
    await markDropped(tx, p);
    await tx`drop table ${tx(p.name)}`;
    for (const v of again)
      await record(tx, runId, v.day, "dropped", {
        partition: p.name,
        rows: Number(v.detail.rows ?? 0),
        bytes: again.length === 1 ? p.bytes : 0n,
        detail: { ...v.detail, concurrently: true, sumsKept: true, bytes: p.bytes.toString() },
      });
    return { again, dropping };
  });
  if ("late" in outcome) {
    // Put it back as it was: DETACH CONCURRENTLY left a CHECK constraint equal to the bound, so no scan.
    // DDL takes no parameters: the name was quoted by the catalog's own quote_ident, the bounds are Date ISO strings.
    const [q] = await db<{ ident: string }[]>`select quote_ident(${p.name}) as ident`;
    await db.unsafe(
      `alter table usage_events attach partition ${q!.ident} for values from ('${p.from_at!.toISOString()}') to ('${p.to_at!.toISOString()}')`,
    );
    return refuse(
      db,
      runId,
      { ...outcome.late!, reason: outcome.late!.reason === "failed" ? "failed" : "late_rows" },
      p.name,
      summary,
    );
  }
  summary.partitionsDropped++;
  summary.detailRowsDropped += outcome.again!.reduce((n, v) => n + Number(v.detail.rows ?? 0), 0);
  summary.bytesDropped += Number(p.bytes);
  summary.dropMs += performance.now() - outcome.dropping!;
}

/**
 * The plain path (a default partition exists): one partition per transaction. Its days' settlements are checked
 * first (no lock); then the partition alone is locked against writes (SHARE: its readers go on), and one scan of it
 * compares its days with both roll-ups and keeps its rows' sums (retention_partition_check). What is left under the
 * lock is the records and the DROP, which needs a brief ACCESS EXCLUSIVE on usage_events (and its default partition) —
 * catalog work, no scan. A writer that comes to the partition meanwhile (a late call) is not kept waiting: the
 * transaction gives way to it (giveWay) and the day is refused for this run. Waiting for the ACCESS EXCLUSIVE behind a
 * long read would queue every writer (settle_usage) behind the waiting request: each attempt waits at most
 * DROP_LOCK_WAIT_MS, then lets the writers through and tries again, up to `lockBudgetMs`; if the lock never comes the
 * day is refused ("failed") and the next run tries again.
 */
async function dropLocked(
  db: Db,
  runId: string,
  p: Partition,
  lockBudgetMs: number,
  summary: RetentionSummary,
): Promise<void> {
  const days = daysOf(p);
  const { refusal, settledAt } = await settlementsOf(db, days);
  if (refusal) return refuse(db, runId, refusal, p.name, summary);
  let watch: ReturnType<typeof giveWay> | undefined;
  try {
    const outcome = await inTransaction(db, async (tx) => {
      const [me] = await tx<{ pid: number; began: string; oid: number }[]>`
        select pg_backend_pid() as pid, now()::text as began,
               to_regclass(quote_ident(${p.name}))::oid::int8::float8 as oid`;
      watch = giveWay(db, me!.oid, me!.pid, me!.began);
      const [saved] = await tx<{ lt: string }[]>`select current_setting('lock_timeout') as lt`;
      await tx`select set_config('lock_timeout', ${`${Math.max(DROP_LOCK_WAIT_MS, lockBudgetMs)}ms`}, true)`;
      await tx`lock table ${tx(p.name)} in share mode`;
      const reopened = await stillClosed(tx, p);
      if (reopened) return { bad: reopened };
      const checking = performance.now();
      const verdicts = await checkPartition(tx, p.name, days, settledAt, true);
      summary.verifyMs += performance.now() - checking;
      const bad = verdicts.find((v) => !v.ok);
      if (bad) return { bad };
      const dropping = performance.now();
      // The records before the DROP (they roll back with it if the lock never comes): from the DROP to the commit
      // usage_events is held ACCESS EXCLUSIVE, so nothing else is done in between.
      await markDropped(tx, p);
      for (const v of verdicts)
        await record(tx, runId, v.day, "dropped", {
          partition: p.name,
          rows: Number(v.detail.rows ?? 0),
          bytes: verdicts.length === 1 ? p.bytes : 0n,
          detail: { ...v.detail, concurrently: false, sumsKept: true, bytes: p.bytes.toString() },
        });
      await tx`select set_config('lock_timeout', ${`${DROP_LOCK_WAIT_MS}ms`}, true)`;
      const attempts = Math.max(1, Math.ceil(lockBudgetMs / (2 * DROP_LOCK_WAIT_MS)));
      let dropped = false;
      let lastError: unknown;
      for (let attempt = 0; attempt < attempts && !dropped; attempt++) {
        if (attempt > 0) await sleep(DROP_LOCK_WAIT_MS);
        try {
          // DROP of a partition detaches it as it goes. An explicit DETACH first would turn each partition's foreign
          // keys into standalone ones: triggers added on (and locks taken of) leases and ledger_transactions, blocking
          // the ledger's writers until the commit, only for the next statement to remove them again (ADR 0022).
          await inTransaction(tx, (s) => s`drop table ${s(p.name)}`);
          dropped = true;
        } catch (error) {
          if ((error as { code?: string }).code !== "55P03") throw error; // lock_not_available
          lastError = error;
        }
      }
      await tx`select set_config('lock_timeout', ${saved!.lt}, true)`;
      if (!dropped) throw lastError;
      void watch.stop();
      return { verdicts, dropping };
    });
    if ("bad" in outcome) return refuse(db, runId, outcome.bad!, p.name, summary);
    // The records and the drop, to the commit (the lock and the check with its sums are counted apart).
    summary.dropMs += performance.now() - outcome.dropping!;
    summary.partitionsDropped++;
    summary.detailRowsDropped += outcome.verdicts!.reduce((n, v) => n + Number(v.detail.rows ?? 0), 0);
    summary.bytesDropped += Number(p.bytes);
  } catch (error) {
    // Gave way to a writer of the day: nothing of this partition was kept; the next run checks it with the new row.
    // The cancel's error can reach this transaction before the poll that sent it has its answer: wait for that answer.
    if (watch && (error as { code?: string }).code === "57014") await watch.stop();
    if (watch?.gaveWay() && (error as { code?: string }).code === "57014")
      return refuse(
        db,
        runId,
        { day: days[0]!, ok: false, reason: "late_rows", detail: { gaveWayToWriter: true } },
        p.name,
        summary,
      );
    throw error;
  } finally {
    void watch?.stop();
  }
}

/**
 * An organization's rows of closed days before its own cutoff, in bounded batches on the account index, each batch
 * one statement that also adds the removed rows' sums to retention_trimmed_usage (so the day still verifies against
 * its roll-ups). Only days that verify are trimmed: an unsettled or disagreeing day keeps everything. Whatever the
 * organization's days, a day is trimmed only once its month's statements are closed (an open month's statement
 * breaks its charges down by member and key from the detail, and closing snapshots that breakdown) and never within
 * the gateway's replay window (REPLAY_WINDOW_DAYS: a failure's later success upgrades the call's row, which must be
 * there to be charged).
 */
async function trimOrganizations(
  db: Db,
  runId: string,
  asOfDay: string,
  platformCutoff: string,
  batch: number,
  deadline: number,
  verdicts: Map<string, DayVerdict>,
  summary: RetentionSummary,
): Promise<void> {
  const orgs = await db<{ account_id: string; days: number }[]>`
    select a.id as account_id, r.usage_detail_days as days
    from organization_retention r join accounts a on a.organization_id = r.organization_id
    join retention_settings s on true
    where r.usage_detail_days is not null and r.usage_detail_days < s.usage_detail_days
    order by a.id`;
  const refusedDays = new Set<string>();
  const closed = new Set(
    (await db<{ month: string }[]>`select to_char(month, 'YYYY-MM') as month from statement_months`).map(
      (m) => m.month,
    ),
  );
  const windowCutoff = addUtcDays(asOfDay, -REPLAY_WINDOW_DAYS);
  for (const org of orgs) {
    const own = addUtcDays(asOfDay, -org.days);
    const cutoff = [own, windowCutoff].sort()[0]!; // UTC days (YYYY-MM-DD) sort as strings
    const [first] = await db<{ day: string | null }[]>`
      select to_char(min(started_at) at time zone 'utc', 'YYYY-MM-DD') as day
      from usage_events e
      where ${orgRows(db, "e", org.account_id)} and e.started_at < ${cutoff}::date::timestamp at time zone 'utc'`;
    if (!first?.day) continue;
    // Days before the platform's cutoff leave with their partitions; those still here are trimmed too.
    for (let day = first.day; day < cutoff; day = addUtcDays(day, 1)) {
      if (Date.now() > deadline) return;
      if (!closed.has(day.slice(0, 7))) continue;
      let verdict = verdicts.get(day);
      if (!verdict) {
        verdict = await verifyDay(db, day);
        verdicts.set(day, verdict);
      }
      if (!verdict.ok) {
        // Recorded once per day (a day past the platform's cutoff was already refused with its partition).
        if (day >= platformCutoff && !refusedDays.has(day)) {
          refusedDays.add(day);
          await refuse(db, runId, verdict, undefined, summary);
        }
        continue;
      }
      let removed = 0;
      for (;;) {
        // The batch's keys first, as settle_usage locks them (lock_usage_batch): a batch settling a replay of a call
        // trimmed here waits for this commit, then finds the claim left behind, not a row being deleted (docs/adr/0032).
        const [gone] = await inTransaction(db, async (tx) => {
          const keys = await tx<{ id: string }[]>`
            select id from api_keys where id in (
              select e.key_id from usage_events e
              where ${orgRows(tx, "e", org.account_id)}
                and started_at >= ${day}::date::timestamp at time zone 'utc'
                and started_at < (${day}::date + 1)::timestamp at time zone 'utc'
              limit ${batch})
            order by id for no key update`;
          if (!keys.length) return [{ n: 0 }];
          return tx<{ n: number }[]>`
          with doomed as (
            select e.id, e.started_at from usage_events e
            where ${orgRows(tx, "e", org.account_id)}
              and started_at >= ${day}::date::timestamp at time zone 'utc'
              and started_at < (${day}::date + 1)::timestamp at time zone 'utc'
              and key_id = any(${keys.map((k) => k.id)}::uuid[])
            limit ${batch}
          ),
          gone as (
            delete from usage_events u using doomed d where u.id = d.id and u.started_at = d.started_at
            returning u.*
          ),
          -- A UUIDv7 call is claimed by its row (docs/adr/0032): its claim is left in usage_calls as the row goes, so
          -- a replay or an upgrade of it is still known and charges nothing (counted as trimmed, as any other).
          claims_kept as (
            insert into usage_calls (call_key, key_id, started_at)
            select call_key(call_id), key_id, started_at from gone where call_time(call_id) is not null
            order by 1, 2
            on conflict (call_key, key_id) do nothing
          ),
          summed as (
            insert into retention_trimmed_usage as t (day, hour, account_id, key_id, model_group, kind, status,
                                                      billing_status, calls, errors, tokens_in, tokens_out,
                                                      cost_micros, revenue_micros)
            select ${day}::date, date_trunc('hour', started_at at time zone 'utc'), account_id, key_id, model_group,
                   kind, status, billing_status(status), count(*), count(error_class), sum(prompt_tokens),
                   sum(completion_tokens), sum(cost_micros), sum(revenue_micros)
            from gone group by 2, 3, 4, 5, 6, 7, 8
            on conflict (day, hour, account_id, key_id, model_group, kind, status, billing_status) do update set
              calls = t.calls + excluded.calls, errors = t.errors + excluded.errors,
              tokens_in = t.tokens_in + excluded.tokens_in, tokens_out = t.tokens_out + excluded.tokens_out,
              cost_micros = t.cost_micros + excluded.cost_micros,
              revenue_micros = t.revenue_micros + excluded.revenue_micros
          )
          select count(*)::int as n from gone`;
        });
        removed += gone!.n;
        // A batch holds the rows of the keys it locked: a short one does not say the day is done; an empty one does.
        if (gone!.n === 0 || Date.now() > deadline) break;
      }
      if (removed > 0) {
        summary.orgRowsTrimmed += removed;
        await record(db, runId, day, "trimmed", {
          accountId: org.account_id,
          rows: removed,
          detail: { policyDays: org.days, cutoff },
        });
      }
    }
  }
}

/** Deletes in bounded batches until a batch comes back short (or the deadline passes); returns how many. */
async function deleteInBatches(
  deadline: number,
  batch: number,
  once: () => Promise<number>,
): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await once();
    total += n;
    if (n < batch || Date.now() > deadline) return total;
  }
}

/**
 * Runs retention once at `asOf`: drops the platform's expired partitions that verify (refusing, recording and
 * logging the others), trims organizations with a shorter policy, then hourly roll-ups and playground conversations
 * past their policy. Idempotent: a second run at the same moment finds nothing to do. Records the run and each
 * decision (retention_runs, retention_actions).
 */
export async function runRetention(db: Sql | Db, options: RetentionOptions = {}): Promise<RetentionSummary> {
  // Each partition leaves in its own transaction, committed before the next. Inside a caller's transaction every
  // drop's ACCESS EXCLUSIVE on usage_events would be held to the caller's commit (each writer waiting on it, and one
  // waiting on a partition the run holds deadlocking with the next drop), and the run could not give way to writers.
  if (isTransaction(db)) throw new RetentionInTransactionError();
  const batch = options.batch ?? 5000;
  const deadline = options.deadline ?? Number.POSITIVE_INFINITY;
  const now = await platformNow(db);
  const asOf = options.asOf ?? now;
  const settings = await getRetentionSettings(db);
  const asOfDay = utcDayOf(asOf);
  const detailCutoff = addUtcDays(asOfDay, -settings.usageDetailDays);
  // A run cut off mid-way (its process gone, the job's lease expired) stays `running`: closed as failed by the next.
  await db`
    update retention_runs set status = 'failed', finished_at = now(), error = 'abandoned: did not finish'
    where status = 'running' and started_at < now() - interval '1 hour'`;
  const [run] = await db<{ id: string }[]>`
    insert into retention_runs (trigger, as_of) values (${options.trigger ?? "manual"}, ${asOf}) returning id`;
  const runId = run!.id;
  const started = performance.now();
  const summary: RetentionSummary = {
    runId,
    asOf: asOf.toISOString(),
    detailCutoff,
    partitionsDropped: 0,
    daysRefused: 0,
    detailRowsDropped: 0,
    bytesDropped: 0,
    orgRowsTrimmed: 0,
    hourlyRowsDeleted: 0,
    ownerRowsDeleted: 0,
    conversationsDeleted: 0,
    callsPruned: 0,
    verifyMs: 0,
    dropMs: 0,
    refused: [],
    continued: false,
  };
  try {
    const partitions = await db<Partition[]>`
      select name, is_default, from_at, to_at, bytes from usage_partitions()`;
    const hasDefault = partitions.some((p) => p.is_default);
    const concurrently = !hasDefault;
    const cutoffAt = Date.parse(`${detailCutoff}T00:00:00Z`);
    const verdicts = new Map<string, DayVerdict>();
    // A partition whose bounds postgres.js cannot read (a BC day) is skipped, never thrown on.
    const bounded = partitions.filter((p) => !p.is_default && validDate(p.from_at) && validDate(p.to_at));
    const expired = bounded.filter((p) => p.to_at!.getTime() <= cutoffAt);
    // One partition per transaction, the deadline looked at before each: a backlog leaves over several runs, and a
    // run stopped in the middle has committed every partition it dropped.
    const gone = new Set<string>();
    // A day a run closed and did not drop (a run cut off between the two) is open again: its partition is still here.
    await db`delete from usage_closed_days where not dropped`;
    for (const p of expired) {
      if (Date.now() > deadline) break;
      const before = summary.partitionsDropped;
      // A UUIDv7 call's claim is its row (docs/adr/0032): its days are closed first (their own short transaction,
      // under the lock settle_usage holds shared to each batch's commit), so no call of them is recorded again once
      // the partition goes; the drop's transaction marks them dropped, and a day not dropped is opened again below.
      let closed: string[] = [];
      try {
        closed = await closeDays(db, daysTouched(p));
        if (concurrently) await dropPartition(db, runId, p, summary);
        else await dropLocked(db, runId, p, options.lockTimeoutMs ?? 1000, summary);
      } catch (error) {
        // A lock that never came, a concurrent drop: the days stay and the next run tries again.
        const message = error instanceof Error ? error.message : String(error);
        await refuse(
          db,
          runId,
          {
            day: utcDayOf(p.from_at!),
            ok: false,
            reason: "failed",
            detail: { error: message.slice(0, 500) },
          },
          p.name,
          summary,
        );
      }
      if (summary.partitionsDropped > before) gone.add(p.name);
      else if (closed.length)
        await db`delete from usage_closed_days where day = any(${closed}::date[]) and not dropped`;
    }
    // The idempotency claims (usage_calls) of calls whose partition was dropped, kept CLAIM_MARGIN_DAYS past the
    // detail: the claims horizon moves first (its own short transaction; settle_usage counts an event before it as
    // expired instead of charging it), then only claims before it go, in bounded batches, and never those of a day
    // whose partition is still here (a refused day; an organization's trimmed calls keep theirs to the horizon).
    const claimsCutoff = addUtcDays(detailCutoff, -CLAIM_MARGIN_DAYS);
    const [claims] = await db<{ horizon: boolean }[]>`
      select to_regclass('public.usage_calls') is not null
         and to_regprocedure('public.advance_usage_claims_horizon_every(timestamptz, timestamptz, interval)')
             is not null as horizon`;
    if (claims!.horizon && Date.now() <= deadline) {
      // Never past a day whose calls may still be recorded (usage_claims_horizon_bound: a partition still here, a late
      // call waiting in the default partition, an open hold), and looked at most once per HORIZON_EVERY_MINUTES of
      // the run's moment (each look reads those three): a statement of its own, so its advisory lock is brief.
      const [horizon] = await db<{ kept_from: Date }[]>`
        select advance_usage_claims_horizon_every(${claimsCutoff}::date::timestamp at time zone 'utc', ${asOf},
                                                  make_interval(mins => ${options.horizonEveryMinutes ?? HORIZON_EVERY_MINUTES}))
          as kept_from`;
      const keptFrom = horizon!.kept_from;
      // The partitions still here before the horizon (refused days; the horizon may stand past this run's cutoff).
      const kept = bounded.filter((p) => !gone.has(p.name) && p.from_at!.getTime() < keptFrom.getTime());
      summary.callsPruned = await deleteInBatches(deadline, batch, async () => {
        const rows = await db`
          delete from usage_calls where ctid = any(array(
            select c.ctid from usage_calls c
            -- A call's later event (its success after a failure) may start up to a day after its claim's start, past
            -- the horizon, where it is charged unless its claim is found: claims stay a day longer.
            where c.started_at < ${keptFrom}::timestamptz - interval '1 day'
              and not exists (select 1 from unnest(${kept.map((p) => p.from_at!.toISOString())}::timestamptz[],
                                                   ${kept.map((p) => p.to_at!.toISOString())}::timestamptz[]) k(f, t)
                              where c.started_at >= k.f and c.started_at < k.t)
              and not exists (select 1 from usage_events u where u.key_id = c.key_id
                              and call_key(u.call_id) = c.call_key and u.started_at = c.started_at)
            limit ${batch}))
          returning 1`;
        return rows.length;
      });
      // The sums kept of dropped days the horizon has passed (the whole day before it): no call of theirs is recorded
      // any more, so settlement never rebuilds their roll-ups (final, lib/settlement/run.ts) and the sums go too;
      // never those of a day whose partition is still here (they are part of its check).
      await deleteInBatches(deadline, batch, async () => {
        const rows = await db`
          delete from retention_trimmed_usage where ctid = any(array(
            select t.ctid from retention_trimmed_usage t
            where (t.day + 1)::timestamp at time zone 'utc' <= ${keptFrom}
              -- Nor a day with detail here now (a late call in the default partition, a day made again): settling
              -- it again rebuilds its roll-ups from that detail and these sums.
              and not exists (select 1 from usage_events u
                              where u.started_at >= t.day::timestamp at time zone 'utc'
                                and u.started_at < (t.day + 1)::timestamp at time zone 'utc')
              and not exists (select 1 from unnest(${kept.map((p) => p.from_at!.toISOString())}::timestamptz[],
                                                   ${kept.map((p) => p.to_at!.toISOString())}::timestamptz[]) k(f, t)
                              where t.day::timestamp at time zone 'utc' >= k.f
                                and t.day::timestamp at time zone 'utc' < k.t)
            limit ${batch}))
          returning 1`;
        return rows.length;
      });
    }
    await trimOrganizations(db, runId, asOfDay, detailCutoff, batch, deadline, verdicts, summary);

    // Hourly roll-ups past their policy, but never of a day whose detail is still here (a refused day: its check
    // compares the detail with them, so without them it would never verify and never leave).
    const policyCutoff = addUtcDays(asOfDay, -settings.hourlyRollupDays);
    const [oldest] = await db<{ from_at: Date | null }[]>`
      select min(from_at) as from_at from usage_partitions() where not is_default and from_at > '2000-01-01'`;
    const oldestDay = validDate(oldest?.from_at ?? null) ? utcDayOf(oldest!.from_at!) : policyCutoff;
    // Nor past the claims horizon where it stands (not only where this run asked it to go: a late call waiting in the
    // default partition, or an open hold, holds it back): until then a late call may make a dropped day's partition
    // again, and that day verifies against its hourly roll-ups. The admins' margins also read usage_hourly as whole
    // after its oldest kept hour (lib/billing/accounts.ts): a call recorded before trimmed hours would make a gap.
    const [standing] = await db<{ kept_from: Date | null }[]>`select kept_from from usage_claims_horizon`;
    const horizonDay = validDate(standing?.kept_from ?? null) ? utcDayOf(standing!.kept_from!) : claimsCutoff;
    const hourlyCutoff = [policyCutoff, oldestDay, claimsCutoff, horizonDay].sort()[0]!;
    summary.hourlyRowsDeleted = await deleteInBatches(deadline, batch, async () => {
      const rows = await db`
        delete from usage_hourly where (hour, model_group, kind, status, billing_status) in (
          select hour, model_group, kind, status, billing_status from usage_hourly
          where hour < ${hourlyCutoff}::timestamp order by hour limit ${batch})
        returning 1`;
      return rows.length;
    });
    // The dashboard's per-day owner roll-ups (docs/adr/0024) go with the hourly ones, past the same cutoff: a day's
    // rows, and an activity row once every day its bits cover (its period's 32 and the 32 before) is before it.
    const cutoffDayNumber = Math.floor(Date.parse(`${hourlyCutoff}T00:00:00Z`) / 86_400_000);
    summary.ownerRowsDeleted = await deleteInBatches(deadline, batch, async () => {
      const rows = await db`
        delete from usage_owner_days where (owner_kind, owner_id, day) in (
          select owner_kind, owner_id, day from usage_owner_days where day < ${hourlyCutoff}::date limit ${batch})
        returning 1`;
      return rows.length;
    });
    summary.ownerRowsDeleted += await deleteInBatches(deadline, batch, async () => {
      const rows = await db`
        delete from usage_owner_activity where (owner_kind, period, owner_id) in (
          select owner_kind, period, owner_id from usage_owner_activity
          where (period + 1) * 32 <= ${cutoffDayNumber} limit ${batch})
        returning 1`;
      return rows.length;
    });
    // A conversation leaves after its account's days without a change: an organization's own (never longer than the
    // platform's), else the platform's.
    summary.conversationsDeleted = await deleteInBatches(deadline, batch, async () => {
      const rows = await db`
        delete from playground_conversations where id in (
          select c.id from playground_conversations c
          left join accounts a on a.id = c.account_id
          left join organization_retention r on r.organization_id = a.organization_id
          cross join retention_settings s
          where c.updated_at < ${asOf}::timestamptz
                - make_interval(days => least(coalesce(r.playground_days, s.playground_days), s.playground_days))
          limit ${batch})
        returning 1`;
      return rows.length;
    });
    await db`
      update retention_runs set status = 'completed', finished_at = now(),
        partitions_dropped = ${summary.partitionsDropped}, days_refused = ${summary.daysRefused},
        detail_rows_dropped = ${summary.detailRowsDropped}, bytes_dropped = ${summary.bytesDropped},
        org_rows_trimmed = ${summary.orgRowsTrimmed}, hourly_rows_deleted = ${summary.hourlyRowsDeleted},
        owner_rows_deleted = ${summary.ownerRowsDeleted},
        conversations_deleted = ${summary.conversationsDeleted},
        duration_ms = ${Math.round(performance.now() - started)}
      where id = ${runId}`;
    // A backlog (a first run, a long organization trim) goes on in the next drain, not the next day.
    if (Date.now() > deadline) {
      await enqueue(
        db,
        RETENTION_JOB,
        { after: runId },
        {
          singletonKey: `${RETENTION_JOB}:after:${runId}`,
          delaySeconds: 60,
          maxAttempts: 5,
          backoffBaseMs: 60_000,
        },
      );
      summary.continued = true;
    }
    return summary;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await db`
      update retention_runs set status = 'failed', finished_at = now(), error = ${message.slice(0, 2000)},
        partitions_dropped = ${summary.partitionsDropped}, days_refused = ${summary.daysRefused},
        detail_rows_dropped = ${summary.detailRowsDropped}, bytes_dropped = ${summary.bytesDropped},
        org_rows_trimmed = ${summary.orgRowsTrimmed}, hourly_rows_deleted = ${summary.hourlyRowsDeleted},
        owner_rows_deleted = ${summary.ownerRowsDeleted},
        duration_ms = ${Math.round(performance.now() - started)}
      where id = ${runId}`;
    throw error;
  }
}

/** The daily cron's part: one retention job per UTC day (singleton), run by the drain. */
export async function scheduleRetention(
  db: Db,
  day: string,
  trigger: "cron" | "manual" = "cron",
): Promise<{ jobId: string; created: boolean }> {
  const { job, created } = await enqueue(
    db,
    RETENTION_JOB,
    { day, trigger },
    { singletonKey: `${RETENTION_JOB}:${day}`, maxAttempts: 5, backoffBaseMs: 60_000 },
  );
  return { jobId: job.id, created };
}
