import "server-only";
import { randomUUID } from "node:crypto";
import {
  ALERT_DELIVER_JOB,
  ALERT_EVALUATE_JOB,
  deliverAlert,
  evaluateAlerts,
  markDeliveryFailed,
} from "@/lib/analytics/alerts";
import { LOW_BALANCE_JOB } from "@/lib/billing/low-balance";
import type { Db } from "@/lib/db/client";
import { log } from "@/lib/log";
import { sendLowBalanceEmail } from "@/lib/notifications/low-balance";
import { type InvitationEmailPayload, sendInvitationEmail } from "@/lib/notifications/org-invitation";
import { sendWebhookDisabledEmail } from "@/lib/notifications/webhook-disabled";
import {
  ORG_INVITE_EMAIL_JOB,
  ORG_SEAT_JOIN_JOB,
  ORG_SEATS_MONTH_JOB,
  ORG_SEATS_RETRY_JOB,
} from "@/lib/orgs/jobs";
import { chargeJoiningSeat, chargeSeatsForMonth, payDueSeats } from "@/lib/orgs/seats";
import { ROTATE_CREDENTIALS_JOB, rotateCredentials } from "@/lib/providers/rotate";
import { archiveCompleted, claim, complete, fail, type Job, release } from "@/lib/queue";
import { RETENTION_JOB, runRetention } from "@/lib/retention/run";
import { runStatementClose, STATEMENTS_CLOSE_JOB } from "@/lib/statements/close";
import { COMPACT_START_MS, compactUsagePartitions, USAGE_COMPACT_JOB } from "@/lib/usage/compact";
import { ensureUsagePartitions, USAGE_PARTITIONS_JOB } from "@/lib/usage/partitions";
import { deliverEndpoint, WEBHOOK_DISABLED_JOB } from "@/lib/webhooks/deliver";
import { WEBHOOK_DELIVER_JOB } from "@/lib/webhooks/emit";
import type { Replay } from "./replay";
import {
  abandonStalledRuns,
  CHUNK_JOB,
  type ChunkPayload,
  FINALIZE_JOB,
  finalizeRun,
  nudgeFinalize,
  ROLL_UP_AGAIN_JOB,
  rollUpAgain,
  runChunk,
} from "./run";

/** A settlement's finalize starts only this early in a drain (ms): the rest of the function's 60 s is its own. */
const FINALIZE_START_MS = 5_000;

export interface DrainOptions {
  /** Stop claiming when this much time has passed (well inside the function's maxDuration). */
  budgetMs: number;
  replay: Replay;
  policy: "release" | "estimate";
  graceMinutes: number;
  batch?: number;
  /** How far into the drain a settlement's finalize may still start (default FINALIZE_START_MS). */
  finalizeStartMs?: number;
}

export interface DrainSummary {
  worker: string;
  claimed: number;
  completed: number;
  retried: number;
  dead: number;
  byName: Record<string, number>;
  elapsedMs: number;
  archived: number;
  /** Claimed jobs handed back unrun when the budget ran out. */
  released: number;
}

/** What a drain needs to know of a job kind: how to run it, and what its own rules are. */
interface JobKind {
  run(db: Db, job: Job, options: DrainOptions, deadline: number): Promise<unknown>;
  /** How far into a drain (ms) it may still start; later, it goes back to the queue unrun for the next tick. */
  startsWithinMs?(options: DrainOptions): number;
  /** After it completed. */
  done?(db: Db, job: Job): Promise<unknown>;
  /** After its last attempt failed. */
  dead?(db: Db, job: Job): Promise<unknown>;
}

const runId = (job: Job) => (job.payload as { runId: string }).runId;
/** A settlement job out of attempts ends its run as failed: the day can be settled again. */
const abandonRun = (db: Db, job: Job) => abandonStalledRuns(db, { runId: runId(job) });

/** A job that reads a whole day (~27 s at 10M calls, docs/adr/0026: a finalize, a roll-up rebuilt) starts only while
 *  the function has most of its maxDuration ahead. */
const wholeDayStart = (options: DrainOptions) => options.finalizeStartMs ?? FINALIZE_START_MS;

const KINDS: Record<string, JobKind> = {
  [CHUNK_JOB]: {
    run: (db, job, options) => runChunk(db, job.payload as ChunkPayload, options),
    // A finished chunk makes its run's finalize job due now instead of at its next backoff.
    done: (db, job) => nudgeFinalize(db, runId(job)),
    dead: abandonRun,
  },
  [FINALIZE_JOB]: {
    run: (db, job) => finalizeRun(db, runId(job)),
    startsWithinMs: wholeDayStart,
    dead: abandonRun,
  },
  [ROLL_UP_AGAIN_JOB]: {
    run: (db, job) => rollUpAgain(db, job.payload as { day: string }),
    startsWithinMs: wholeDayStart,
  },
  [ALERT_EVALUATE_JOB]: { run: (db) => evaluateAlerts(db) },
  [ALERT_DELIVER_JOB]: {
    run: (db, job) => deliverAlert(db, job.payload as { deliveryId: string }),
    dead: (db, job) => markDeliveryFailed(db, (job.payload as { deliveryId: string }).deliveryId),
  },
  [LOW_BALANCE_JOB]: {
    run: (db, job) => sendLowBalanceEmail(db, job.payload as { accountId: string }, String(job.id)),
  },
  [ORG_SEATS_MONTH_JOB]: { run: (db, job) => chargeSeatsForMonth(db, job.payload) },
  [ORG_SEAT_JOIN_JOB]: { run: (db, job) => chargeJoiningSeat(db, job.payload) },
  [ORG_SEATS_RETRY_JOB]: { run: (db, job) => payDueSeats(db, job.payload) },
  [STATEMENTS_CLOSE_JOB]: { run: (db, job) => runStatementClose(db, job.payload) },
  [WEBHOOK_DELIVER_JOB]: {
    // A customer's slow receiver must not hold the drain past its budget: the sender stops before a request that
    // could outlast it, and the cron's sweep schedules what is left.
    run: (db, job, _options, deadline) =>
      deliverEndpoint(db, (job.payload as { endpointId: string }).endpointId, { deadline }),
  },
  [WEBHOOK_DISABLED_JOB]: {
    run: (db, job) => sendWebhookDisabledEmail(db, job.payload as { endpointId: string }, String(job.id)),
  },
  [ORG_INVITE_EMAIL_JOB]: {
    run: (db, job) =>
      sendInvitationEmail(db, job.payload as unknown as InvitationEmailPayload, String(job.id)),
  },
  [ROTATE_CREDENTIALS_JOB]: { run: (db) => rotateCredentials(db) },
  [RETENTION_JOB]: {
    // What the budget leaves undone (a long first trim) the next day's job continues.
    run: (db, job, _options, deadline) =>
      runRetention(db, {
        // The admin's "Run now" (POST /api/v1/retention/run) is recorded as manual, the daily cron's as cron.
        trigger: (job.payload as { trigger?: string }).trigger === "manual" ? "manual" : "cron",
        deadline,
      }),
  },
  [USAGE_PARTITIONS_JOB]: { run: (db) => ensureUsagePartitions(db) },
  [USAGE_COMPACT_JOB]: {
    // One index after another while the budget lasts (~1 s per million rows), started only while the function has
    // most of its maxDuration ahead; what is left the next tick's job goes on with.
    run: (db, _job, _options, deadline) => compactUsagePartitions(db, { deadline }),
    startsWithinMs: () => COMPACT_START_MS,
  },
};

/** A job with no kind fails (and dies after its attempts), so a job enqueued by a newer release is not lost. */
const UNKNOWN: JobKind = {
  run: async (_db, job) => {
    throw new Error(`no handler for job ${job.name}`);
  },
};

/**
 * Claims and runs jobs until the queue is empty or the time budget is spent. Safe to run concurrently:
 * claims skip each other's rows, and every job is idempotent should a lease expire mid-run.
 */
export async function drain(db: Db, options: DrainOptions): Promise<DrainSummary> {
  const started = Date.now();
  const worker = `drain-${randomUUID().slice(0, 8)}`;
  const summary: DrainSummary = {
    worker,
    claimed: 0,
    completed: 0,
    retried: 0,
    dead: 0,
    byName: {},
    elapsedMs: 0,
    archived: 0,
    released: 0,
  };
  claiming: while (Date.now() - started < options.budgetMs) {
    const jobs = await claim(db, {
      worker,
      batch: options.batch ?? 4,
      leaseSeconds: Math.ceil(options.budgetMs / 1000) + 60,
    });
    if (!jobs.length) break;
    summary.claimed += jobs.length;
    for (const [index, job] of jobs.entries()) {
      const kind = KINDS[job.name] ?? UNKNOWN;
      // Out of time with jobs of the batch not started, or a job claimed later in the tick than its kind may start:
      // they go back to the queue for the next tick, unrun.
      const elapsed = Date.now() - started;
      const late = kind.startsWithinMs !== undefined && elapsed > kind.startsWithinMs(options);
      if ((index > 0 && elapsed >= options.budgetMs) || late) {
        summary.released = await release(
          db,
          jobs.slice(index).map((j) => j.id),
          worker,
        );
        summary.claimed -= jobs.length - index;
        break claiming;
      }
      summary.byName[job.name] = (summary.byName[job.name] ?? 0) + 1;
      try {
        const result = await kind.run(db, job, options, started + options.budgetMs);
        await complete(db, job.id, worker, result);
        summary.completed++;
        await kind.done?.(db, job);
      } catch (error) {
        const state = await fail(db, job.id, worker, error);
        if (state === "dead") {
          summary.dead++;
          await kind.dead?.(db, job);
          log().error({ err: error, job: job.id, name: job.name }, "job is dead after its last attempt");
        } else summary.retried++;
      }
    }
  }
  summary.archived = await archiveCompleted(db);
  summary.elapsedMs = Date.now() - started;
  return summary;
}
