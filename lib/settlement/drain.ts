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

async function runJob(db: Db, job: Job, options: DrainOptions, deadline: number): Promise<unknown> {
  switch (job.name) {
    case CHUNK_JOB:
      return runChunk(db, job.payload as ChunkPayload, options);
    case FINALIZE_JOB:
      return finalizeRun(db, (job.payload as { runId: string }).runId);
    case ALERT_EVALUATE_JOB:
      return evaluateAlerts(db);
    case ALERT_DELIVER_JOB:
      return deliverAlert(db, job.payload as { deliveryId: string });
    case LOW_BALANCE_JOB:
      return sendLowBalanceEmail(db, job.payload as { accountId: string }, String(job.id));
    case ORG_SEATS_MONTH_JOB:
      return chargeSeatsForMonth(db, job.payload);
    case ORG_SEAT_JOIN_JOB:
      return chargeJoiningSeat(db, job.payload);
    case ORG_SEATS_RETRY_JOB:
      return payDueSeats(db, job.payload);
    case STATEMENTS_CLOSE_JOB:
      return runStatementClose(db, job.payload);
    case WEBHOOK_DELIVER_JOB:
      // A customer's slow receiver must not hold the drain past its budget: the sender stops before a request that
      // could outlast it, and the cron's sweep schedules what is left.
      return deliverEndpoint(db, (job.payload as { endpointId: string }).endpointId, { deadline });
    case WEBHOOK_DISABLED_JOB:
      return sendWebhookDisabledEmail(db, job.payload as { endpointId: string }, String(job.id));
    case ORG_INVITE_EMAIL_JOB:
      return sendInvitationEmail(db, job.payload as unknown as InvitationEmailPayload, String(job.id));
    case ROTATE_CREDENTIALS_JOB:
      return rotateCredentials(db);
    case RETENTION_JOB:
      // What the budget leaves undone (a long first trim) the next day's job continues.
      return runRetention(db, {
        // The admin's "Run now" (POST /api/v1/retention/run) is recorded as manual, the daily cron's as cron.
        trigger: (job.payload as { trigger?: string }).trigger === "manual" ? "manual" : "cron",
        deadline,
      });
    case USAGE_PARTITIONS_JOB:
      return ensureUsagePartitions(db);
    default:
      throw new Error(`no handler for job ${job.name}`);
  }
}

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
      // Out of time with jobs of the batch not started: they go back to the queue for the next tick, unrun. So does a
      // settlement's finalize claimed late in a tick: it reads the whole day (~27 s at 10M calls, docs/adr/0026) and
      // starts only while the function has most of its maxDuration ahead.
      const elapsed = Date.now() - started;
      if (
        (index > 0 && elapsed >= options.budgetMs) ||
        (job.name === FINALIZE_JOB && elapsed > (options.finalizeStartMs ?? FINALIZE_START_MS))
      ) {
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
        const result = await runJob(db, job, options, started + options.budgetMs);
        await complete(db, job.id, worker, result);
        summary.completed++;
        // A finished chunk makes its run's finalize job due now instead of at its next backoff.
        if (job.name === CHUNK_JOB) await nudgeFinalize(db, (job.payload as ChunkPayload).runId);
      } catch (error) {
        const state = await fail(db, job.id, worker, error);
        if (state === "dead") {
          summary.dead++;
          // A settlement job out of attempts ends its run as failed: the day can be settled again.
          if (job.name === CHUNK_JOB || job.name === FINALIZE_JOB) {
            await abandonStalledRuns(db, { runId: (job.payload as { runId: string }).runId });
          }
          if (job.name === ALERT_DELIVER_JOB) {
            await markDeliveryFailed(db, (job.payload as { deliveryId: string }).deliveryId);
          }
          log().error({ err: error, job: job.id, name: job.name }, "job is dead after its last attempt");
        } else summary.retried++;
      }
    }
  }
  summary.archived = await archiveCompleted(db);
  summary.elapsedMs = Date.now() - started;
  return summary;
}
