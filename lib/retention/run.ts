import "server-only";
import type { Db, Sql } from "@/lib/db/client";
import { inTransaction } from "@/lib/db/client";
import { log } from "@/lib/log";
import { enqueue } from "@/lib/queue";
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

/** Whether `db` is a transaction (postgres.js TransactionSql): DETACH … CONCURRENTLY cannot run in one. */
const isTransaction = (db: Db) => !("begin" in db);

/** A day may leave only when its settlement has run and its detail equals its roll-ups (and trims), exactly. */
export async function verifyDay(db: Db, day: string, extra?: string): Promise<DayVerdict> {
  const [run] = await db<{ status: string; finished_at: Date | null }[]>`
    select status, finished_at from settlement_runs where day = ${day}
    order by (status = 'completed') desc, started_at desc limit 1`;
  if (!run) return { day, ok: false, reason: "not_settled", detail: {} };
  if (run.status !== "completed") return { day, ok: false, reason: "settlement_running", detail: {} };
  const checks = await db<{ grain: string; groups: bigint; mismatched: bigint; detail_rows: bigint }[]>`
    select grain, groups, mismatched, detail_rows from retention_day_check(${day}::date, ${extra ?? null}::regclass)`;
  const detail: Record<string, unknown> = {
    rows: Number(checks[0]?.detail_rows ?? 0),
    settledAt: run.finished_at?.toISOString() ?? null,
  };
  for (const c of checks) detail[c.grain] = { groups: Number(c.groups), mismatched: Number(c.mismatched) };
  const ok = checks.every((c) => c.mismatched === 0n);
  return ok ? { day, ok, detail } : { day, ok, reason: "rollups_disagree", detail };
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
 * The lock-free path (no default partition, not in a transaction): the partition's days checked, DETACH …
 * CONCURRENTLY (no lock that stops the table's readers and writers), the detached rows checked again (a row that
 * arrived between the check and the detach is in them) and the partition attached back if anything changed; else
 * dropped.
 */
async function dropPartition(db: Db, runId: string, p: Partition, summary: RetentionSummary): Promise<void> {
  const days = daysOf(p);
  let started = performance.now();
  const verdicts: DayVerdict[] = [];
  for (const day of days) verdicts.push(await verifyDay(db, day));
  summary.verifyMs += performance.now() - started;
  const bad = verdicts.find((v) => !v.ok);
  if (bad) return refuse(db, runId, bad, p.name, summary);
  started = performance.now();
  await db`alter table usage_events detach partition ${db(p.name)} concurrently`;
  summary.dropMs += performance.now() - started;
  started = performance.now();
  const again: DayVerdict[] = [];
  for (const day of days) again.push(await verifyDay(db, day, p.name));
  summary.verifyMs += performance.now() - started;
  started = performance.now();
  const late = again.find((v) => !v.ok);
  if (late) {
    // Put it back as it was: DETACH CONCURRENTLY left a CHECK constraint equal to the bound, so no scan.
    // DDL takes no parameters: the name was quoted by the catalog's own quote_ident, the bounds are Date ISO strings.
    const [q] = await db<{ ident: string }[]>`select quote_ident(${p.name}) as ident`;
    await db.unsafe(
      `alter table usage_events attach partition ${q!.ident} for values from ('${p.from_at!.toISOString()}') to ('${p.to_at!.toISOString()}')`,
    );
    return refuse(db, runId, { ...late, reason: "late_rows" }, p.name, summary);
  }
  const rows = again.reduce((n, v) => n + Number(v.detail.rows ?? 0), 0);
  await inTransaction(db, async (tx) => {
    await tx`drop table ${tx(p.name)}`;
    await tx`delete from retention_trimmed_usage where day in ${tx(days)}`;
    for (const v of again)
      await record(tx, runId, v.day, "dropped", {
        partition: p.name,
        rows: Number(v.detail.rows ?? 0),
        bytes: days.length === 1 ? p.bytes : 0n,
        detail: { ...v.detail, concurrently: true, bytes: p.bytes.toString() },
      });
  });
  summary.partitionsDropped++;
  summary.detailRowsDropped += rows;
  summary.bytesDropped += Number(p.bytes);
  summary.dropMs += performance.now() - started;
}

/**
 * The plain path (a default partition exists, or the caller's transaction): the expired partitions in one
 * transaction. lock_timeout bounds every wait; the partitions are locked against writes (SHARE: their readers go on),
 * each day checked, the ones that verify dropped out of usage_events in one statement (a brief ACCESS EXCLUSIVE on
 * usage_events and its default partition: catalog work, no scan), with their records, in one commit. A day that does
 * not verify stays and is refused after the commit.
 */
async function dropTogether(
  db: Db,
  runId: string,
  parts: Partition[],
  lockTimeoutMs: number,
  summary: RetentionSummary,
): Promise<void> {
  const outcome = await inTransaction(db, async (tx) => {
    await tx`select set_config('lock_timeout', ${`${lockTimeoutMs}ms`}, true)`;
    await tx`lock table ${tx(parts.map((p) => p.name))} in share mode`;
    const checking = performance.now();
    const good: { p: Partition; verdicts: DayVerdict[] }[] = [];
    const bad: { p: Partition; verdict: DayVerdict }[] = [];
    for (const p of parts) {
      const verdicts: DayVerdict[] = [];
      for (const day of daysOf(p)) verdicts.push(await verifyDay(tx, day));
      const refused = verdicts.find((v) => !v.ok);
      if (refused) bad.push({ p, verdict: refused });
      else good.push({ p, verdicts });
    }
    summary.verifyMs += performance.now() - checking;
    const dropping = performance.now();
    if (good.length) {
      // DROP of a partition detaches it as it goes. An explicit DETACH first would turn each partition's foreign keys
      // into standalone ones: triggers added on (and locks taken of) leases and ledger_transactions, blocking the
      // ledger's writers until the commit, only for the next statement to remove them again (ADR 0022).
      await tx`drop table ${tx(good.map(({ p }) => p.name))}`;
      await tx`delete from retention_trimmed_usage where day in ${tx(good.flatMap(({ p }) => daysOf(p)))}`;
      for (const { p, verdicts } of good)
        for (const v of verdicts)
          await record(tx, runId, v.day, "dropped", {
            partition: p.name,
            rows: Number(v.detail.rows ?? 0),
            bytes: verdicts.length === 1 ? p.bytes : 0n,
            detail: { ...v.detail, concurrently: false, bytes: p.bytes.toString() },
          });
    }
    return { good, bad, dropping };
  });
  // Detach, drop and the records, to the commit (the lock and the checks before them are counted apart).
  summary.dropMs += performance.now() - outcome.dropping;
  for (const { p, verdicts } of outcome.good) {
    summary.partitionsDropped++;
    summary.detailRowsDropped += verdicts.reduce((n, v) => n + Number(v.detail.rows ?? 0), 0);
    summary.bytesDropped += Number(p.bytes);
  }
  for (const { p, verdict } of outcome.bad) await refuse(db, runId, verdict, p.name, summary);
}

/**
 * An organization's rows of closed days before its own cutoff, in bounded batches on the account index, each batch
 * one statement that also adds the removed rows' sums to retention_trimmed_usage (so the day still verifies against
 * its roll-ups). Only days that verify are trimmed: an unsettled or disagreeing day keeps everything.
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
  for (const org of orgs) {
    const cutoff = addUtcDays(asOfDay, -org.days);
    const [first] = await db<{ day: string | null }[]>`
      select to_char(min(started_at) at time zone 'utc', 'YYYY-MM-DD') as day
      from usage_events where account_id = ${org.account_id} and started_at < ${cutoff}::date::timestamp at time zone 'utc'`;
    if (!first?.day) continue;
    // Days before the platform's cutoff leave with their partitions; those still here are trimmed too.
    for (let day = first.day; day < cutoff; day = addUtcDays(day, 1)) {
      if (Date.now() > deadline) return;
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
        const [gone] = await db<{ n: number }[]>`
          with doomed as (
            select id, started_at from usage_events
            where account_id = ${org.account_id}
              and started_at >= ${day}::date::timestamp at time zone 'utc'
              and started_at < (${day}::date + 1)::timestamp at time zone 'utc'
            limit ${batch}
          ),
          gone as (
            delete from usage_events u using doomed d where u.id = d.id and u.started_at = d.started_at
            returning u.*
          ),
          summed as (
            insert into retention_trimmed_usage as t (day, hour, account_id, key_id, model_group, kind, status,
                                                      billing_status, calls, errors, tokens_in, tokens_out,
                                                      cost_micros, revenue_micros)
            select ${day}::date, date_trunc('hour', started_at at time zone 'utc'), account_id, key_id, model_group,
                   kind, status, billing_status, count(*), count(error_class), sum(prompt_tokens),
                   sum(completion_tokens), sum(cost_micros), sum(revenue_micros)
            from gone group by 2, 3, 4, 5, 6, 7, 8
            on conflict (day, hour, account_id, key_id, model_group, kind, status, billing_status) do update set
              calls = t.calls + excluded.calls, errors = t.errors + excluded.errors,
              tokens_in = t.tokens_in + excluded.tokens_in, tokens_out = t.tokens_out + excluded.tokens_out,
              cost_micros = t.cost_micros + excluded.cost_micros,
              revenue_micros = t.revenue_micros + excluded.revenue_micros
          )
          select count(*)::int as n from gone`;
        removed += gone!.n;
        if (gone!.n < batch || Date.now() > deadline) break;
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
  const batch = options.batch ?? 5000;
  const deadline = options.deadline ?? Number.POSITIVE_INFINITY;
  const [clock] = await db<{ now: Date }[]>`select tollgate_now() as now`;
  const now = clock!.now;
  const asOf = options.asOf ?? now;
  const settings = await getRetentionSettings(db);
  const asOfDay = utcDayOf(asOf);
  const detailCutoff = addUtcDays(asOfDay, -settings.usageDetailDays);
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
    const concurrently = !hasDefault && !isTransaction(db);
    const cutoffAt = Date.parse(`${detailCutoff}T00:00:00Z`);
    const verdicts = new Map<string, DayVerdict>();
    const expired = partitions.filter(
      (p) => !p.is_default && p.from_at && p.to_at && p.to_at.getTime() <= cutoffAt,
    );
    // At most a month per transaction: a backlog leaves in month-sized steps.
    const step = concurrently ? 1 : 31;
    for (let i = 0; i < expired.length; i += step) {
      if (Date.now() > deadline) break;
      const parts = expired.slice(i, i + step);
      try {
        if (concurrently) await dropPartition(db, runId, parts[0]!, summary);
        else await dropTogether(db, runId, parts, options.lockTimeoutMs ?? 5000, summary);
      } catch (error) {
        // A lock that timed out, a concurrent drop: the days stay and the next run tries again.
        const message = error instanceof Error ? error.message : String(error);
        for (const p of parts)
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
    }
    // The claims of calls whose day is gone (usage_calls, when it exists): after the drops, in bounded batches.
    const [claims] = await db<
      { exists: boolean }[]
    >`select to_regclass('public.usage_calls') is not null as exists`;
    if (claims!.exists) {
      summary.callsPruned = await deleteInBatches(deadline, batch, async () => {
        const rows = await db`
          delete from usage_calls where ctid = any(array(
            select ctid from usage_calls where started_at < ${detailCutoff}::date::timestamp at time zone 'utc'
              and not exists (select 1 from usage_events u where u.key_id = usage_calls.key_id
                              and u.call_id = usage_calls.call_id and u.started_at = usage_calls.started_at)
            limit ${batch}))
          returning 1`;
        return rows.length;
      });
    }
    await trimOrganizations(db, runId, asOfDay, detailCutoff, batch, deadline, verdicts, summary);

    const hourlyCutoff = addUtcDays(asOfDay, -settings.hourlyRollupDays);
    summary.hourlyRowsDeleted = await deleteInBatches(deadline, batch, async () => {
      const rows = await db`
        delete from usage_hourly where (hour, model_group, kind, status, billing_status) in (
          select hour, model_group, kind, status, billing_status from usage_hourly
          where hour < ${hourlyCutoff}::timestamp order by hour limit ${batch})
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
        duration_ms = ${Math.round(performance.now() - started)}
      where id = ${runId}`;
    throw error;
  }
}

/** The daily cron's part: one retention job per UTC day (singleton), run by the drain. */
export async function scheduleRetention(db: Db, day: string): Promise<{ jobId: string; created: boolean }> {
  const { job, created } = await enqueue(
    db,
    RETENTION_JOB,
    { day },
    { singletonKey: `${RETENTION_JOB}:${day}`, maxAttempts: 5, backoffBaseMs: 60_000 },
  );
  return { jobId: job.id, created };
}
