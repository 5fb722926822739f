import "server-only";
import { recordAudit } from "@/lib/audit/record";
import type { Actor } from "@/lib/auth/types";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { settleUsage, type UsageEvent } from "@/lib/billing/settle";
import { type Db, inTransaction } from "@/lib/db/client";
import { AppError, conflict } from "@/lib/http/errors";
import { enqueue } from "@/lib/queue";
import { dayCalls } from "@/lib/usage/columns";
import type { Replay } from "./replay";

export const CHUNK_JOB = "settlement.chunk";
export const FINALIZE_JOB = "settlement.finalize";
/** Rebuilds a settled day's roll-ups that a late call left behind (staleSettledDays), nothing else of its settlement. */
export const ROLL_UP_AGAIN_JOB = "settlement.roll_up_again";

/**
 * The finalize's whole-day statements end by themselves past this (seconds): a cron function cut at its maxDuration
 * (60 s) must not leave one running, or its transaction holding the day's roll-up rows. Its retry starts over.
 */
const HEAVY_STATEMENT_TIMEOUT_S = 55;

/**
 * A transaction whose statements read the whole day: each ends by itself past HEAVY_STATEMENT_TIMEOUT_S. With
 * `oneSnapshot`, every statement reads the database as the first one did (REPEATABLE READ): statements that read
 * the same rows twice (a delete, then an insert from them) see them alike, whatever commits in between.
 */
function dayWideTransaction<T>(
  db: Db,
  fn: (tx: Db) => Promise<T>,
  { oneSnapshot = false }: { oneSnapshot?: boolean } = {},
): Promise<T> {
  return inTransaction(db, async (tx) => {
    if (oneSnapshot) await tx`set transaction isolation level repeatable read`;
    await tx`select set_config('statement_timeout', ${`${HEAVY_STATEMENT_TIMEOUT_S}s`}, true)`;
    return fn(tx);
  });
}

/** `started_at` within the UTC day (the usage_events partition of that day, pruned). */
const startedOn = (db: Db, day: string) =>
  db`started_at >= ${day}::date::timestamp at time zone 'utc' and started_at < (${day}::date + 1)::timestamp at time zone 'utc'`;

/**
 * Marks a day's running settlement failed when none of its jobs can still run (each completed or dead: a chunk or the
 * finalize out of attempts, by failures or by leases that ran out). Otherwise the run would stay `running` for good:
 * the day could not be settled again, retention would refuse it, and its month's statements would wait for it.
 * `runId` narrows it to one run. Returns the runs marked.
 */
export async function abandonStalledRuns(db: Db, where: { day?: string; runId?: string }): Promise<number> {
  const rows = await db`
    update settlement_runs r set status = 'failed', finished_at = now(),
      error = 'abandoned: its jobs ended without completing it'
    where r.status = 'running'
      ${where.day ? db`and r.day = ${where.day}` : db``}
      ${where.runId ? db`and r.id = ${where.runId}` : db``}
      and not exists (select 1 from queue_jobs q
                      where q.name in (${CHUNK_JOB}, ${FINALIZE_JOB}) and q.payload->>'runId' = r.id::text
                        and q.state in ('created', 'active', 'retry'))
    returning r.id`;
  return rows.length;
}

export interface ChunkPayload extends Record<string, unknown> {
  runId: string;
  day: string;
  fromAccount: string;
  toAccount: string;
}

/** The UTC day before `now`, as YYYY-MM-DD. */
export function previousUtcDay(now = new Date()): string {
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - 1));
  return d.toISOString().slice(0, 10);
}

/** How far back the daily cron looks for settled days whose roll-ups a late call left behind: inside the shortest
 *  hourly roll-up retention (retention_settings.hourly_rollup_days is at least 30), so each day compared still has
 *  all of its hours. */
export const STALE_DAYS_WINDOW = 28;

/**
 * Settled days whose roll-ups no longer hold all of the day: a call recorded after the day's settlement (a gateway's
 * late delivery, a long call that ended after it) or an upgrade of one of its calls moves usage_hourly (kept with every
 * insert and update, in its statement) but not usage_rollups (the settlement's), so the by-user and by-key analytics
 * and the account pages read the day short, and retention refuses to drop its detail (it must equal its roll-ups).
 * Compared by calls and revenue, for each of the last STALE_DAYS_WINDOW UTC days whose settlement completed and is not
 * running again; the least recently rolled up first (a day that stays different does not hold the others back), at
 * most `limit`. The daily cron has their roll-ups rebuilt (ROLL_UP_AGAIN_JOB: no money, hold or variance moves).
 */
export async function staleSettledDays(db: Db, { limit = 3 }: { limit?: number } = {}): Promise<string[]> {
  const rows = await db<{ day: string }[]>`
    with window_days as (
      select (tollgate_now() at time zone 'utc')::date - ${STALE_DAYS_WINDOW}::int as first,
             (tollgate_now() at time zone 'utc')::date - 1 as last
    ),
    settled as (
      select distinct r.day from settlement_runs r, window_days w
      where r.status = 'completed' and r.day >= w.first and r.day <= w.last
    )
    select to_char(s.day, 'YYYY-MM-DD') as day
    from settled s
    where s.day not in (select x.day from window_days w, whole_settled_days(w.first, w.last, null, null) x(day))
      and not exists (select 1 from settlement_runs x where x.day = s.day and x.status = 'running')
    order by (select min(u.computed_at) from usage_rollups u where u.day = s.day) nulls first, s.day
    limit ${limit}`;
  return rows.map((r) => r.day);
}

/** Queues the rebuild of each stale settled day's roll-ups (at most one job per day waiting); the days queued. */
export async function rollUpStaleDays(db: Db): Promise<string[]> {
  const days = await staleSettledDays(db);
  for (const day of days)
    await enqueue(
      db,
      ROLL_UP_AGAIN_JOB,
      { day },
      { singletonKey: `${ROLL_UP_AGAIN_JOB}:${day}`, maxAttempts: 5, backoffBaseMs: 5_000 },
    );
  return days;
}

/** ROLL_UP_AGAIN_JOB: the day's roll-ups rebuilt, unless a settlement of it is running (its finalize rebuilds them). */
export async function rollUpAgain(
  db: Db,
  { day }: { day: string },
): Promise<{ day: string; calls: number | null }> {
  const [running] = await db<{ n: number }[]>`
    select count(*)::int as n from settlement_runs where day = ${day}::date and status = 'running'`;
  if (running!.n > 0) return { day, calls: null };
  return { day, calls: await rollUpDay(db, day) };
}

/**
 * Starts the settlement of a UTC day: a run record and chunk jobs by account range (plus a finalize job),
 * all in one transaction. Only one start per day runs at a time (advisory lock); a day whose run is still
 * running is not started twice.
 */
export async function startSettlement(
  db: Db,
  actor: Actor,
  { day, trigger, chunkAccounts }: { day: string; trigger: "cron" | "manual"; chunkAccounts: number },
): Promise<{ runId: string; chunks: number; started: boolean }> {
  // A day still running has calls still coming: only an ended UTC day is settled, whoever asks.
  if (day >= new Date().toISOString().slice(0, 10)) {
    throw new AppError("validation_failed", "Only a day that has ended (UTC) can be settled.", {
      issues: [{ path: "day", message: "must be before today (UTC)" }],
    });
  }
  return inTransaction(db, async (tx) => {
    const [lock] = await tx<
      { ok: boolean }[]
    >`select pg_try_advisory_xact_lock(hashtext(${`settlement:${day}`})) as ok`;
    if (lock!.ok) await abandonStalledRuns(tx, { day });
    const [running] = await tx<
      { id: string }[]
    >`select id from settlement_runs where day = ${day} and status = 'running'`;
    if (!lock!.ok || running) {
      if (running) return { runId: running.id, chunks: 0, started: false };
      throw conflict(`Settlement of ${day} is being started by another request.`);
    }
    const [run] = await tx<{ id: string }[]>`
      insert into settlement_runs (day, trigger, requested_by) values (${day}, ${trigger}, ${actor.userId}) returning id`;
    // Accounts with anything to settle: open holds up to the day's end, or usage that day.
    const ranges = await tx<{ from_id: string; to_id: string }[]>`
      with active as (
        select distinct account_id from holds
        where status = 'open' and created_at < (${day}::date + 1)::timestamp at time zone 'utc'
        union
        select distinct account_id from usage_events
        where ${startedOn(tx, day)}
      ),
      numbered as (select account_id, (row_number() over (order by account_id) - 1) / ${chunkAccounts} as chunk from active)
      select min(account_id::text) as from_id, max(account_id::text) as to_id from numbered group by chunk order by 1`;
    for (const r of ranges) {
      await enqueue(
        tx,
        CHUNK_JOB,
        { runId: run!.id, day, fromAccount: r.from_id, toAccount: r.to_id } satisfies ChunkPayload,
        {
          singletonKey: `${CHUNK_JOB}:${run!.id}:${r.from_id}`,
          maxAttempts: 8,
          backoffBaseMs: 5000,
        },
      );
    }
    await enqueue(
      tx,
      FINALIZE_JOB,
      { runId: run!.id, day },
      { singletonKey: `${FINALIZE_JOB}:${run!.id}`, maxAttempts: 50, backoffBaseMs: 2000 },
    );
    await tx`update settlement_runs set jobs_total = ${ranges.length + 1} where id = ${run!.id}`;
    if (actor.kind === "user") {
      await recordAudit(tx, actor, {
        action: "settlement.start",
        targetType: "settlement_run",
        targetId: run!.id,
        after: { day },
      });
    }
    return { runId: run!.id, chunks: ranges.length, started: true };
  });
}

export interface ChunkOptions {
  replay: Replay;
  policy: "release" | "estimate";
  graceMinutes: number;
}

/**
 * Settles one range of accounts for a run: its stale holds and its overdrawn accounts. Every step is idempotent:
 * repaired holds are no longer open and variances are recorded once. The day's roll-up and its orphans are the
 * finalize job's (finalizeRun), once every chunk is done: each reads the whole day in one pass.
 */
export async function runChunk(
  db: Db,
  payload: ChunkPayload,
  options: ChunkOptions,
): Promise<Record<string, number>> {
  const { runId, day, fromAccount, toAccount } = payload;
  const counts = { holdsExamined: 0, replayed: 0, released: 0, estimated: 0 };

  // (1) Holds past the grace period with no usage event: the gateway's outbox, else the policy.
  const stale = await db<
    {
      id: string;
      key_id: string;
      call_id: string;
      account_id: string;
      model: string;
      prompt_tokens: number;
      max_output_tokens: number;
      amount_micros: bigint;
      created_at: Date;
    }[]
  >`
    select h.id, h.key_id, h.call_id, h.account_id, m.public_name as model, h.prompt_tokens, h.max_output_tokens,
           h.amount_micros, h.created_at
    from holds h join models m on m.id = h.model_id
    where h.status = 'open' and h.account_id between ${fromAccount}::uuid and ${toAccount}::uuid
      and h.created_at < least(now() - make_interval(mins => ${options.graceMinutes}),
                               (${day}::date + 1)::timestamp at time zone 'utc')
    order by h.created_at`;
  counts.holdsExamined = stale.length;
  for (const hold of stale) {
    const events = await options.replay(hold.key_id, hold.call_id);
    let kind: "replayed_event" | "released_waived" | "charged_estimate";
    let toSettle: UsageEvent[];
    if (events.length) {
      kind = "replayed_event";
      toSettle = events;
    } else {
      const base = {
        callId: hold.call_id,
        keyId: hold.key_id,
        modelGroup: hold.model,
        providerModel: "",
        stream: false,
        cachedTokens: 0,
        reportedCostMicros: 0,
        startedAt: hold.created_at.toISOString(),
        endedAt: new Date().toISOString(),
      };
      kind = options.policy === "estimate" ? "charged_estimate" : "released_waived";
      toSettle = [
        options.policy === "estimate"
          ? {
              ...base,
              status: "cut",
              promptTokens: hold.prompt_tokens,
              completionTokens: hold.max_output_tokens,
              errorClass: "NoUsageEvent",
            }
          : { ...base, status: "failure", promptTokens: 0, completionTokens: 0, errorClass: "NoUsageEvent" },
      ];
    }
    await inTransaction(db, async (tx) => {
      await settleUsage(tx, toSettle);
      const [usage] = await tx<{ revenue_micros: bigint }[]>`
        select u.revenue_micros from usage_call(${hold.key_id}, ${hold.call_id}) u`;
      await tx`
        insert into settlement_variances (run_id, kind, account_id, key_id, call_id, amount_micros, detail)
        values (${runId}, ${kind}, ${hold.account_id}, ${hold.key_id}, ${hold.call_id}, ${usage?.revenue_micros ?? 0n},
                ${tx.json({ holdMicros: hold.amount_micros.toString(), heldSince: hold.created_at.toISOString(), events: events.length })})
        on conflict do nothing`;
    });
    if (kind === "replayed_event") counts.replayed++;
    else if (kind === "charged_estimate") counts.estimated++;
    else counts.released++;
  }

  // (2) Overage: accounts charged beyond their balance (a charge above its hold).
  await db`
    insert into settlement_variances (run_id, kind, account_id, amount_micros, detail)
    select ${runId}, 'overage', a.id, -a.balance_micros, jsonb_build_object('balanceMicros', a.balance_micros)
    from accounts a where a.kind <> 'system' and a.balance_micros < 0
      and a.id between ${fromAccount}::uuid and ${toAccount}::uuid
    on conflict do nothing`;

  await db`
    update settlement_runs set
      jobs_done = jobs_done + 1,
      holds_examined = holds_examined + ${counts.holdsExamined},
      holds_replayed = holds_replayed + ${counts.replayed},
      holds_released = holds_released + ${counts.released},
      holds_estimated = holds_estimated + ${counts.estimated}
    where id = ${runId}`;
  return counts;
}

export async function nudgeFinalize(db: Db, runId: string): Promise<void> {
  await db`
    update queue_jobs set run_after = now()
    where singleton_key = ${`${FINALIZE_JOB}:${runId}`} and state in ('created', 'retry') and run_after > now()`;
}

export class ChunksPending extends Error {
  constructor(pending: number) {
    super(`${pending} chunk job(s) of this run are not done yet`);
    this.name = "ChunksPending";
  }
}

/**
 * The day's roll-up (usage_rollups), recomputed whole from its detail plus what retention removed from it (an
 * organization's trims and, since the drop keeps them, a dropped partition's sums: docs/adr/0022), in one statement
 * over the day. Only the accounts it recomputes lose their rows: an account with neither detail nor removed sums that
 * day keeps its roll-ups. A day whose roll-ups are final is not rebuilt at all (usage_day_final: its detail is gone
 * and either it was dropped before the drop kept its sums, or the claims horizon has passed its end, so settle_usage
 * records no call of it any more and retention no longer keeps its sums). Returns the calls rolled up (null: the day
 * is final).
 *
 * Whole-day, not per chunk of accounts: a chunk's accounts have their calls spread over the whole day's partition,
 * so per-chunk scans read the partition once per chunk (docs/adr/0026). Its statements read one snapshot.
 */
async function rollUpDay(db: Db, day: string): Promise<number | null> {
  // One snapshot: retention may pass the day with the claims horizon and delete its kept sums between the delete and
  // the insert below; each reading its own, the insert would put back nothing of them.
  return dayWideTransaction(
    db,
    async (tx) => {
      const [state] = await tx<{ final: boolean }[]>`select usage_day_final(${day}::date) as final`;
      if (state!.final) return null;
      await tx`
      delete from usage_rollups where day = ${day} and account_id in (
        select d.account_id from (${dayCalls(tx, tx`${day}::date`)}) d)`;
      const rows = await tx<{ events: number }[]>`
      with ins as (
        insert into usage_rollups (day, account_id, key_id, model_group, billing_status, requests, tokens_in, tokens_out, cost_micros, revenue_micros)
        select ${day}::date, account_id, key_id, model_group, billing_status, sum(calls), sum(tokens_in), sum(tokens_out),
               sum(cost), sum(revenue)
        -- The day's calls (dayCalls): its rows, and what an organization's shorter retention already removed from the
        -- detail (docs/adr/0022).
        from (${dayCalls(tx, tx`${day}::date`)}) d
        group by account_id, key_id, model_group, billing_status
        returning requests
      )
      select coalesce(sum(requests), 0)::int as events from ins`;
      return rows[0]!.events;
    },
    { oneSnapshot: true },
  );
}

/**
 * Orphans the other way: the day's calls charged with neither a hold nor a lease (a gateway that reserved nothing),
 * one variance per account — its calls, those charged on an estimate, their revenue — not one per call: at ten
 * million calls a day a row per call is a table no one reads. A call the chunks repaired (replayed, released or
 * charged on an estimate) is not an orphan.
 */
async function recordOrphans(db: Db, runId: string, day: string): Promise<void> {
  await dayWideTransaction(db, async (tx) => {
    // Recomputed whole, as the roll-up is: a finalize retried after a late orphan call reports it too.
    await tx`delete from settlement_variances where run_id = ${runId} and kind = 'orphan_event'`;
    await tx`
      insert into settlement_variances (run_id, kind, account_id, amount_micros, detail)
      select ${runId}, 'orphan_event', u.account_id, sum(u.revenue_micros),
             jsonb_build_object('calls', count(*), 'estimatedCalls', count(*) filter (where u.status = 'cut'))
      from usage_events u
      where u.hold_id is null and u.lease_id is null
        and ${startedOn(tx, day)}
        and not exists (select 1 from settlement_variances v where v.kind in ('replayed_event', 'released_waived', 'charged_estimate')
                        and v.key_id = u.key_id and v.call_id = u.call_id)
      group by u.account_id`;
  });
}

/**
 * Closes a run once all its chunks are done: the day's roll-up and orphans, the ledger invariants and the variance
 * totals. Idempotent: a finalize that runs again recomputes the roll-up and records nothing twice.
 */
export async function finalizeRun(db: Db, runId: string): Promise<Record<string, unknown>> {
  const [pending] = await db<{ n: number }[]>`
    select count(*)::int as n from queue_jobs
    where name = ${CHUNK_JOB} and payload->>'runId' = ${runId} and state <> 'completed'`;
  if (pending!.n > 0) throw new ChunksPending(pending!.n);
  const [open] = await db<{ day: string }[]>`
    select to_char(day, 'YYYY-MM-DD') as day from settlement_runs where id = ${runId} and status = 'running'`;
  if (!open) return { runId, completed: false, invariantViolations: 0 };
  const rolled = await rollUpDay(db, open.day);
  await recordOrphans(db, runId, open.day);
  const violations = await checkLedgerInvariants(db);
  for (const v of violations) {
    await db`
      insert into settlement_variances (run_id, kind, account_id, amount_micros, detail)
      values (${runId}, 'invariant', ${v.kind === "unbalanced_transaction" ? null : v.id}, ${v.actual - v.expected},
              ${db.json({ check: v.kind, id: v.id, expected: v.expected.toString(), actual: v.actual.toString() })})
      on conflict do nothing`;
  }
  const [run] = await db`
    update settlement_runs r set
      status = 'completed', finished_at = now(), jobs_done = jobs_done + 1,
      invariant_violations = ${violations.length},
      events_examined = ${rolled ?? 0},
      orphan_events = coalesce((select sum((detail->>'calls')::int) from settlement_variances
                                where run_id = r.id and kind = 'orphan_event'), 0),
      overage_micros = coalesce((select sum(amount_micros) from settlement_variances where run_id = r.id and kind = 'overage'), 0),
      variance_count = (select count(*) from settlement_variances where run_id = r.id),
      variance_micros = coalesce((select sum(abs(amount_micros)) from settlement_variances where run_id = r.id), 0)
    where id = ${runId} and status = 'running'
    returning id, day, variance_count, invariant_violations`;
  return { runId, completed: Boolean(run), invariantViolations: violations.length };
}
