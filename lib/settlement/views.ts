import "server-only";
import { recordAudit } from "@/lib/audit/record";
import type { Actor } from "@/lib/auth/types";
import { type Db, inTransaction } from "@/lib/db/client";
import { notFound } from "@/lib/http/errors";
import { deadJobs, type Job, queueStats, retryDead } from "@/lib/queue";
import { assertAdmin } from "@/lib/users/assert-admin";

export interface SettlementRun {
  id: string;
  day: string;
  status: string;
  trigger: string;
  startedAt: Date;
  finishedAt: Date | null;
  jobsTotal: number;
  jobsDone: number;
  eventsExamined: number;
  holdsExamined: number;
  holdsReplayed: number;
  holdsReleased: number;
  holdsEstimated: number;
  orphanEvents: number;
  overageMicros: bigint;
  varianceCount: number;
  varianceMicros: bigint;
  invariantViolations: number;
}

const runColumns = (db: Db) => db`
  id, to_char(day, 'YYYY-MM-DD') as day, status, trigger, started_at as "startedAt", finished_at as "finishedAt",
  jobs_total as "jobsTotal", jobs_done as "jobsDone", events_examined as "eventsExamined",
  holds_examined as "holdsExamined", holds_replayed as "holdsReplayed", holds_released as "holdsReleased",
  holds_estimated as "holdsEstimated", orphan_events as "orphanEvents", overage_micros as "overageMicros",
  variance_count as "varianceCount", variance_micros as "varianceMicros", invariant_violations as "invariantViolations"`;

export async function listRuns(db: Db, actor: Actor, limit = 50): Promise<SettlementRun[]> {
  assertAdmin(actor);
  return db<
    SettlementRun[]
  >`select ${runColumns(db)} from settlement_runs order by day desc, started_at desc limit ${limit}`;
}

export interface Variance {
  id: string;
  kind: string;
  accountId: string | null;
  /** Whose account it is, for display: the person's email, or the organization's name for a team account. */
  ownerEmail: string | null;
  keyId: string | null;
  callId: string | null;
  amountMicros: bigint;
  detail: unknown;
}

/** A run's variances on its page: each kind's largest, at most this many a kind (the run counts them all). */
export const VARIANCES_SHOWN_PER_KIND = 100;

export async function getRun(
  db: Db,
  actor: Actor,
  id: string,
): Promise<{ run: SettlementRun; variances: Variance[] }> {
  assertAdmin(actor);
  const [run] = await db<SettlementRun[]>`select ${runColumns(db)} from settlement_runs where id = ${id}`;
  if (!run) throw notFound("Settlement run");
  // Each kind's largest, so that thousands of one kind (orphans at scale) never hide another; invariant violations all.
  const variances = await db<Variance[]>`
    select v.id::text, v.kind, v.account_id as "accountId", coalesce(u.email, o.name) as "ownerEmail", v.key_id as "keyId",
           v.call_id as "callId", v.amount_micros as "amountMicros", v.detail
    from (
      select *, row_number() over (partition by kind order by abs(amount_micros) desc, id) as rank
      from settlement_variances where run_id = ${id}
    ) v
    left join accounts a on a.id = v.account_id left join users u on u.id = a.owner_user_id
    left join organizations o on o.id = a.organization_id
    where v.rank <= ${VARIANCES_SHOWN_PER_KIND} or v.kind = 'invariant'
    order by v.kind, abs(v.amount_micros) desc, v.id`;
  return { run, variances };
}

export async function queueOverview(
  db: Db,
  actor: Actor,
): Promise<{ stats: Record<string, number>; dead: Job[] }> {
  assertAdmin(actor);
  // A payload's secrets (an invitation's link token) are never shown, even to admins.
  const dead = (await deadJobs(db)).map((job) =>
    "token" in job.payload ? { ...job, payload: { ...job.payload, token: "[redacted]" } } : job,
  );
  return { stats: await queueStats(db), dead };
}

export async function retryDeadJob(db: Db, actor: Actor, id: string): Promise<void> {
  assertAdmin(actor);
  await inTransaction(db, async (tx) => {
    if (!(await retryDead(tx, id))) throw notFound("Dead job");
    await recordAudit(tx, actor, { action: "queue.retry_dead", targetType: "queue_job", targetId: id });
  });
}
