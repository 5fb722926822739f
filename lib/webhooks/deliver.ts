import "server-only";
import { randomUUID } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { request } from "undici";
import type { Db } from "@/lib/db/client";
import { log } from "@/lib/log";
import { enqueue } from "@/lib/queue";
import { enqueueDelivery } from "./emit";
import { openSecret } from "./secret";
import { assertDeliverable, defaultNetPolicy, deliveryAgent, type NetPolicy } from "./ssrf";

// Sends an endpoint's pending deliveries (the queue job webhooks.deliver), oldest call first: one event per request,
// or a JSON array of up to the endpoint's batch_max. Signed per Standard Webhooks with the reference library
// (webhook-id, webhook-timestamp, webhook-signature; during a rotation's overlap the previous secret signs too). An
// event keeps its webhook-id across attempts, so receivers deduplicate (at least once). A failure holds the endpoint's
// line (order is kept) until the next attempt, backing off from 5 s to 12 h; after 3 days of failures the endpoint is
// switched off and its owners told. Times are tollgate_now() (the platform clock a test can stand at).
//
// A run is bounded: it stops before a request that could outlast the caller's deadline (the drain's time budget),
// and its claim on the endpoint (sending_until, sending_token) lasts as long as the run can, is renewed before each
// request, and is cleared only by its holder, so two senders never share an endpoint's line.

export const WEBHOOK_DISABLED_JOB = "webhooks.disabled.notify";
/** How long an endpoint may fail before it is switched off. */
export const WEBHOOK_GIVE_UP_MS = 3 * 86_400_000;
const EXCERPT_BYTES = 1024;
/** Beyond the run's longest length, how long a claim lasts (database time between requests). */
const CLAIM_MARGIN_MS = 60_000;

/** Text Postgres can store: NUL bytes (which a text column refuses) removed. */
const storable = (text: string) => text.replaceAll("\u0000", "");

/** The wait after the nth failure in a row: 5 s × 4^(n−1), at most 12 h (5 s, 20 s, 80 s, … about 13 tries in 3 days). */
export function retryDelayMs(failures: number): number {
  return Math.min(5_000 * 4 ** Math.max(0, failures - 1), 12 * 3_600_000);
}

/** The webhook-id of an event: stable across attempts, resends and replays. */
export const messageId = (eventId: string) => `msg_${eventId.replaceAll("-", "")}`;

interface Endpoint {
  id: string;
  accountId: string;
  url: string;
  batchMax: number;
  timeoutMs: number;
  secret: string;
  previousSecret: string | null;
  failureCount: number;
  failingSince: Date | null;
  now: Date;
}

interface Pending {
  deliveryId: string;
  eventId: string;
  type: string;
  occurredAt: Date;
  payload: Record<string, unknown>;
}

export interface SendOutcome {
  ok: boolean;
  statusCode: number | null;
  latencyMs: number;
  excerpt: string | null;
  error: string | null;
}

/** An event as receivers get it: the Standard Webhooks envelope, plus its id for deduplication inside a batch. */
export function envelope(e: Pending): Record<string, unknown> {
  return { id: messageId(e.eventId), type: e.type, timestamp: e.occurredAt.toISOString(), data: e.payload };
}

/** The webhook-signature header: one v1 signature per secret in force, space-separated. */
export function signatures(secrets: string[], id: string, at: Date, body: string): string {
  return secrets.map((s) => new Webhook(s).sign(id, at, body)).join(" ");
}

async function post(
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  policy: NetPolicy,
) {
  const started = performance.now();
  const outcome = (o: Omit<SendOutcome, "latencyMs">): SendOutcome => ({
    ...o,
    latencyMs: Math.round(performance.now() - started),
  });
  try {
    const target = new URL(url);
    assertDeliverable(target, policy);
    const res = await request(target, {
      method: "POST",
      headers,
      body,
      dispatcher: deliveryAgent(policy),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    // The first KB of the answer, for the delivery log; the rest is not read.
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size >= EXCERPT_BYTES) break;
    }
    res.body.destroy();
    const excerpt = storable(
      Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString("utf8").slice(0, EXCERPT_BYTES),
    );
    const ok = res.statusCode >= 200 && res.statusCode < 300;
    return outcome({
      ok,
      statusCode: res.statusCode,
      excerpt,
      error: ok
        ? null
        : res.statusCode >= 300 && res.statusCode < 400
          ? "redirect not followed"
          : `answered ${res.statusCode}`,
    });
  } catch (error) {
    const err = error as Error & { code?: string; cause?: { code?: string; message?: string } };
    const code = err.code ?? err.cause?.code;
    const message =
      err.name === "TimeoutError" || code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT"
        ? `no answer within ${timeoutMs} ms`
        : (err.cause?.message ?? err.message);
    return outcome({ ok: false, statusCode: null, excerpt: null, error: storable(message).slice(0, 500) });
  }
}

/**
 * How long a claim holds: the run's longest length (maxRequests requests of the endpoint's timeout, or up to the
 * deadline, whichever comes first) and a margin, as a SQL interval over the endpoint row `w`.
 */
const claimLength = (db: Db, maxRequests: number, deadline: number | undefined) => {
  const leftMs = deadline === undefined ? null : Math.max(0, deadline - Date.now());
  return db`make_interval(secs => (least(${maxRequests}::bigint * w.timeout_ms, ${leftMs}::bigint) + ${CLAIM_MARGIN_MS}) / 1000.0)`;
};

async function claimEndpoint(
  db: Db,
  endpointId: string,
  token: string,
  length: ReturnType<typeof claimLength>,
): Promise<Endpoint | null> {
  const [row] = await db<
    (Omit<Endpoint, "secret" | "previousSecret"> & { sealed: string; previous: string | null })[]
  >`
    update webhook_endpoints w set sending_until = tollgate_now() + ${length}, sending_token = ${token}
    where w.id = ${endpointId} and w.enabled
      and (w.sending_until is null or w.sending_until < tollgate_now())
      and (w.next_attempt_at is null or w.next_attempt_at <= tollgate_now())
    returning w.id::text as id, w.account_id::text as "accountId", w.url, w.batch_max as "batchMax",
      w.timeout_ms as "timeoutMs", w.secret_ciphertext as sealed,
      case when w.previous_secret_expires_at > tollgate_now() then w.previous_secret_ciphertext end as previous,
      w.failure_count as "failureCount", w.failing_since as "failingSince", tollgate_now() as now`;
  if (!row) return null;
  const { sealed, previous, ...rest } = row;
  return { ...rest, secret: openSecret(sealed), previousSecret: previous ? openSecret(previous) : null };
}

export interface DeliverSummary {
  requests: number;
  delivered: number;
  failed: number;
  disabled: boolean;
  /** Why nothing was sent: the endpoint is off, busy or waiting for its next attempt. */
  skipped?: string;
  /** Why the run ended with deliveries left: the time budget, or another sender took the claim. */
  stopped?: string;
}

/**
 * Sends what the endpoint has pending until nothing is left, an attempt fails, `maxRequests` were made, or the next
 * request could outlast `deadline` (epoch ms; the rest waits for the next run). Safe to run twice at once: the
 * endpoint is claimed with a token (sending_until, sending_token) renewed before each request; a sender whose claim
 * another took stops, and only the holder clears it.
 */
export async function deliverEndpoint(
  db: Db,
  endpointId: string,
  {
    policy = defaultNetPolicy(),
    maxRequests = 50,
    deadline,
  }: { policy?: NetPolicy; maxRequests?: number; deadline?: number } = {},
): Promise<DeliverSummary> {
  const summary: DeliverSummary = { requests: 0, delivered: 0, failed: 0, disabled: false };
  const token = randomUUID();
  const endpoint = await claimEndpoint(db, endpointId, token, claimLength(db, maxRequests, deadline));
  if (!endpoint) return { ...summary, skipped: "off, busy or waiting" };
  try {
    while (summary.requests < maxRequests) {
      if (deadline !== undefined && deadline - Date.now() < endpoint.timeoutMs) {
        summary.stopped = "time budget";
        break;
      }
      if (summary.requests > 0) {
        const [held] = await db`
          update webhook_endpoints w
          set sending_until = tollgate_now() + ${claimLength(db, maxRequests - summary.requests, deadline)}
          where w.id = ${endpoint.id} and w.sending_token = ${token}
          returning 1`;
        if (!held) {
          summary.stopped = "claim taken over";
          break;
        }
      }
      const batch = await db<Pending[]>`
        select d.id::text as "deliveryId", e.id::text as "eventId", e.type, e.occurred_at as "occurredAt", e.payload
        from webhook_deliveries d join webhook_events e on e.id = d.event_id
        where d.endpoint_id = ${endpoint.id} and d.status = 'pending'
        order by d.occurred_at, d.id
        limit ${endpoint.batchMax}`;
      if (!batch.length) break;
      const single = endpoint.batchMax === 1;
      const body = JSON.stringify(single ? envelope(batch[0]!) : batch.map(envelope));
      const id = single
        ? messageId(batch[0]!.eventId)
        : `batch_${batch[0]!.deliveryId}_${batch[batch.length - 1]!.deliveryId}_${batch.length}`;
      const secrets = [endpoint.secret, ...(endpoint.previousSecret ? [endpoint.previousSecret] : [])];
      // The signature's timestamp is the real moment of sending: receivers check it against their own clock.
      const sentAt = new Date();
      const outcome = await post(
        endpoint.url,
        {
          "content-type": "application/json",
          "user-agent": "Tollgate-Webhooks/1",
          "webhook-id": id,
          "webhook-timestamp": String(Math.floor(sentAt.getTime() / 1000)),
          "webhook-signature": signatures(secrets, id, sentAt, body),
        },
        body,
        endpoint.timeoutMs,
        policy,
      );
      summary.requests++;
      const deliveryIds = batch.map((b) => b.deliveryId);
      // The outcome first: a log row that cannot be written must not leave the deliveries to be sent again at once.
      await db`
        update webhook_deliveries set attempts = attempts + 1, last_status = ${outcome.statusCode},
          last_error = ${outcome.error},
          status = case when ${outcome.ok} then 'delivered' else status end,
          delivered_at = case when ${outcome.ok} then tollgate_now() end
        where id = any(${db.array(deliveryIds)}::bigint[])`;
      try {
        await db`
          insert into webhook_attempts (endpoint_id, delivery_ids, attempted_at, ok, status_code, latency_ms,
                                        response_excerpt, error)
          values (${endpoint.id}, ${db.array(deliveryIds)}::bigint[], tollgate_now(), ${outcome.ok},
                  ${outcome.statusCode}, ${outcome.latencyMs}, ${outcome.excerpt}, ${outcome.error})`;
      } catch (error) {
        log().warn({ err: error, endpointId: endpoint.id }, "customer webhook attempt not logged");
      }
      if (outcome.ok) {
        summary.delivered += batch.length;
        await db`
          update webhook_endpoints set failure_count = 0, failing_since = null, next_attempt_at = null
          where id = ${endpoint.id} and failure_count > 0`;
        continue;
      }
      summary.failed += batch.length;
      summary.disabled = await recordFailure(db, endpoint);
      break;
    }
  } finally {
    await db`
      update webhook_endpoints set sending_until = null, sending_token = null
      where id = ${endpoint.id} and sending_token = ${token}`;
  }
  return summary;
}

/** A failed attempt: the next one after the backoff, or, failing for 3 days, the endpoint off and its owners told. */
async function recordFailure(db: Db, endpoint: Endpoint): Promise<boolean> {
  const failures = endpoint.failureCount + 1;
  const since = endpoint.failingSince ?? endpoint.now;
  if (endpoint.now.getTime() - since.getTime() >= WEBHOOK_GIVE_UP_MS) {
    const reason = `Deliveries failed for 3 days (${failures} attempts since ${since.toISOString()}).`;
    await db`
      update webhook_endpoints set enabled = false, disabled_reason = ${reason}, failure_count = ${failures},
        next_attempt_at = null
      where id = ${endpoint.id}`;
    await db`
      update webhook_deliveries set status = 'failed' where endpoint_id = ${endpoint.id} and status = 'pending'`;
    await enqueue(
      db,
      WEBHOOK_DISABLED_JOB,
      { endpointId: endpoint.id },
      { maxAttempts: 8, backoffBaseMs: 5_000 },
    );
    log().warn(
      { endpointId: endpoint.id, failures },
      "customer webhook endpoint switched off after 3 days of failures",
    );
    return true;
  }
  await db`
    update webhook_endpoints set failure_count = ${failures}, failing_since = ${since},
      next_attempt_at = tollgate_now() + make_interval(secs => ${retryDelayMs(failures) / 1000})
    where id = ${endpoint.id}`;
  return false;
}

/**
 * The cron's sweep: a deliver job for every enabled endpoint with pending deliveries whose next attempt is due (a
 * retry's time came, or an event arrived while its job was running). The singleton key keeps one job per endpoint.
 */
export async function scheduleWebhookDeliveries(db: Db): Promise<number> {
  const due = await db<{ id: string }[]>`
    select w.id::text as id from webhook_endpoints w
    where w.enabled and (w.next_attempt_at is null or w.next_attempt_at <= tollgate_now())
      and (w.sending_until is null or w.sending_until < tollgate_now())
      and exists (select 1 from webhook_deliveries d where d.endpoint_id = w.id and d.status = 'pending')`;
  for (const { id } of due) await enqueueDelivery(db, id);
  return due.length;
}
