import "server-only";
import { recordAudit } from "@/lib/audit/record";
import type { Actor } from "@/lib/auth/types";
import { actsAsPlatformAdmin } from "@/lib/auth/visibility";
import { type Db, inTransaction } from "@/lib/db/client";
import { AppError, notFound } from "@/lib/http/errors";
import { orgFor } from "@/lib/orgs/access";
import { enqueue } from "@/lib/queue";
import { takeAttempt, tooManyAttempts } from "@/lib/security/attempts";
import { assertAdmin } from "@/lib/users/assert-admin";
import { WEBHOOK_DISABLED_JOB } from "./deliver";
import { enqueueDelivery } from "./emit";
import type { CreateEndpointBody, UpdateEndpointBody, WebhookEventType } from "./schemas";
import { createEndpointBody, updateEndpointBody } from "./schemas";
import { generateEndpointSecret, sealSecret } from "./secret";
import { checkEndpointUrl, defaultNetPolicy, type NetPolicy } from "./ssrf";

// Customer webhook endpoints (issue 28): an organization's, managed by its owners and admins (the webhooks verb of
// lib/orgs/access.ts), or a person's own, managed by that person; platform admins manage every one. Anyone else learns
// nothing (404). The secret is returned at creation and rotation only, and never enters the audit log.

/** How long a rotated-out secret keeps signing beside the new one. */
export const SECRET_OVERLAP_MS = 24 * 3_600_000;

export interface WebhookEndpoint {
  id: string;
  accountId: string;
  organizationId: string | null;
  organizationSlug: string | null;
  ownerEmail: string | null;
  url: string;
  description: string;
  eventTypes: WebhookEventType[];
  enabled: boolean;
  disabledReason: string | null;
  batchMax: number;
  timeoutMs: number;
  secretRotatedAt: Date | null;
  previousSecretExpiresAt: Date | null;
  failureCount: number;
  failingSince: Date | null;
  nextAttemptAt: Date | null;
  createdAt: Date;
  pending: number;
}

const columns = (db: Db) => db`
  w.id::text as id, w.account_id::text as "accountId", o.id::text as "organizationId", o.slug as "organizationSlug",
  u.email as "ownerEmail", w.url, w.description, w.event_types as "eventTypes", w.enabled,
  w.disabled_reason as "disabledReason", w.batch_max as "batchMax", w.timeout_ms as "timeoutMs",
  w.secret_rotated_at as "secretRotatedAt",
  case when w.previous_secret_expires_at > tollgate_now() then w.previous_secret_expires_at end
    as "previousSecretExpiresAt",
  w.failure_count as "failureCount", w.failing_since as "failingSince", w.next_attempt_at as "nextAttemptAt",
  w.created_at as "createdAt",
  (select count(*)::int from webhook_deliveries d where d.endpoint_id = w.id and d.status = 'pending') as pending`;

const source = (db: Db) => db`
  webhook_endpoints w join accounts a on a.id = w.account_id
  left join organizations o on o.id = a.organization_id left join users u on u.id = a.owner_user_id`;

export interface Owner {
  accountId: string;
  organizationId: string | null;
}

/** Whose endpoints: the organization named (its webhooks verb), else the actor's own account. */
export async function ownerFor(db: Db, actor: Actor, org?: string): Promise<Owner> {
  if (org) {
    const ctx = await orgFor(db, actor, org, "webhooks");
    return { accountId: ctx.accountId, organizationId: ctx.id };
  }
  if (!actor.userId) throw notFound("Your account");
  const [row] = await db<
    { id: string }[]
  >`select id::text as id from accounts where owner_user_id = ${actor.userId}`;
  if (!row) throw notFound("Your account");
  return { accountId: row.id, organizationId: null };
}

/** The endpoint as the actor may act on it: 404 unless theirs, their organization's (403 without the role) or admin. */
async function endpointFor(db: Db, actor: Actor, id: string, lock = false): Promise<WebhookEndpoint> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw notFound("The webhook endpoint");
  const [row] = await db<(WebhookEndpoint & { ownerUserId: string | null })[]>`
    select ${columns(db)}, a.owner_user_id::text as "ownerUserId" from ${source(db)} where w.id = ${id}
    ${lock ? db`for update of w` : db``}`;
  if (!row) throw notFound("The webhook endpoint");
  const { ownerUserId, ...endpoint } = row;
  if (endpoint.organizationId) {
    // A stranger to the organization is told what they would be told of an id that names no endpoint: no answer says
    // that an endpoint exists.
    await orgFor(db, actor, endpoint.organizationId, "webhooks", { guards: "The webhook endpoint" });
  } else if (!(actsAsPlatformAdmin(actor) || (ownerUserId !== null && ownerUserId === actor.userId)))
    throw notFound("The webhook endpoint");
  return endpoint;
}

export const getEndpoint = (db: Db, actor: Actor, id: string) => endpointFor(db, actor, id);

export async function listEndpoints(
  db: Db,
  actor: Actor,
  { org }: { org?: string } = {},
): Promise<WebhookEndpoint[]> {
  const owner = await ownerFor(db, actor, org);
  return db<WebhookEndpoint[]>`
    select ${columns(db)} from ${source(db)} where w.account_id = ${owner.accountId} order by w.created_at, w.id`;
}

/** Every endpoint of the platform (admins). */
export async function listAllEndpoints(db: Db, actor: Actor): Promise<WebhookEndpoint[]> {
  assertAdmin(actor);
  return db<WebhookEndpoint[]>`select ${columns(db)} from ${source(db)} order by w.created_at desc limit 500`;
}

const MAX_ENDPOINTS_PER_ACCOUNT = 10;

export async function createEndpoint(
  db: Db,
  actor: Actor,
  { org }: { org?: string },
  input: CreateEndpointBody,
  { policy = defaultNetPolicy() }: { policy?: NetPolicy } = {},
): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
  const body = createEndpointBody.parse(input);
  const url = await checkEndpointUrl(body.url, policy);
  return inTransaction(db, async (tx) => {
    const owner = await ownerFor(tx, actor, org);
    await tx`select 1 from accounts where id = ${owner.accountId} for update`;
    const [count] = await tx<{ n: number }[]>`
      select count(*)::int as n from webhook_endpoints where account_id = ${owner.accountId}`;
    if (count!.n >= MAX_ENDPOINTS_PER_ACCOUNT)
      throw new AppError(
        "conflict",
        `An account has at most ${MAX_ENDPOINTS_PER_ACCOUNT} webhook endpoints.`,
      );
    const secret = generateEndpointSecret();
    const [row] = await tx<{ id: string }[]>`
      insert into webhook_endpoints (account_id, url, description, event_types, batch_max, timeout_ms,
                                     secret_ciphertext, created_by)
      values (${owner.accountId}, ${url}, ${body.description}, ${tx.array(body.eventTypes)}::text[], ${body.batchMax},
              ${body.timeoutMs}, ${sealSecret(secret)}, ${actor.userId})
      returning id::text as id`;
    const endpoint = await endpointFor(tx, actor, row!.id);
    await recordAudit(tx, actor, {
      action: "webhook.create",
      targetType: "webhook_endpoint",
      targetId: row!.id,
      after: endpoint,
    });
    return { endpoint, secret };
  });
}

export async function updateEndpoint(
  db: Db,
  actor: Actor,
  id: string,
  input: UpdateEndpointBody,
  { policy = defaultNetPolicy() }: { policy?: NetPolicy } = {},
): Promise<WebhookEndpoint> {
  const patch = updateEndpointBody.parse(input);
  const url = patch.url === undefined ? undefined : await checkEndpointUrl(patch.url, policy);
  return inTransaction(db, async (tx) => {
    const before = await endpointFor(tx, actor, id, true);
    // Switched back on: its failure streak starts over (deliveries failed while off are replayed by hand).
    const reenabled = patch.enabled === true && !before.enabled;
    await tx`
      update webhook_endpoints set
        url = ${url ?? before.url},
        description = ${patch.description ?? before.description},
        event_types = ${tx.array(patch.eventTypes ?? before.eventTypes)}::text[],
        enabled = ${patch.enabled ?? before.enabled},
        disabled_reason = case when ${patch.enabled ?? before.enabled} then null else disabled_reason end,
        batch_max = ${patch.batchMax ?? before.batchMax},
        timeout_ms = ${patch.timeoutMs ?? before.timeoutMs},
        failure_count = case when ${reenabled} then 0 else failure_count end,
        failing_since = case when ${reenabled} then null else failing_since end,
        next_attempt_at = case when ${reenabled} then null else next_attempt_at end
      where id = ${id}`;
    const after = await endpointFor(tx, actor, id);
    await recordAudit(tx, actor, {
      action: "webhook.update",
      targetType: "webhook_endpoint",
      targetId: id,
      before,
      after,
    });
    if (reenabled && after.pending > 0) await enqueueDelivery(tx, id);
    return after;
  });
}

export async function deleteEndpoint(db: Db, actor: Actor, id: string): Promise<void> {
  await inTransaction(db, async (tx) => {
    const before = await endpointFor(tx, actor, id, true);
    await tx`delete from webhook_endpoints where id = ${id}`;
    await recordAudit(tx, actor, {
      action: "webhook.delete",
      targetType: "webhook_endpoint",
      targetId: id,
      before,
    });
  });
}

/** A new secret, returned once; the previous one keeps signing beside it for 24 hours (receivers switch over). */
export async function rotateEndpointSecret(
  db: Db,
  actor: Actor,
  id: string,
): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
  return inTransaction(db, async (tx) => {
    await endpointFor(tx, actor, id, true);
    const secret = generateEndpointSecret();
    await tx`
      update webhook_endpoints set previous_secret_ciphertext = secret_ciphertext,
        previous_secret_expires_at = tollgate_now() + make_interval(secs => ${SECRET_OVERLAP_MS / 1000}),
        secret_ciphertext = ${sealSecret(secret)}, secret_rotated_at = tollgate_now()
      where id = ${id}`;
    const endpoint = await endpointFor(tx, actor, id);
    await recordAudit(tx, actor, {
      action: "webhook.rotate_secret",
      targetType: "webhook_endpoint",
      targetId: id,
      after: { secretRotated: true, previousSecretExpiresAt: endpoint.previousSecretExpiresAt },
    });
    return { endpoint, secret };
  });
}

export interface WebhookDelivery {
  id: string;
  eventId: string;
  messageId: string;
  type: WebhookEventType;
  occurredAt: Date;
  origin: "event" | "resend" | "replay";
  status: "pending" | "delivered" | "failed";
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

export interface WebhookAttempt {
  id: string;
  attemptedAt: Date;
  ok: boolean;
  statusCode: number | null;
  latencyMs: number;
  responseExcerpt: string | null;
  error: string | null;
  deliveries: number;
}

/** The endpoint's delivery log: its latest deliveries and attempts (status, latency, the answer's first KB). */
export async function listDeliveries(
  db: Db,
  actor: Actor,
  id: string,
  { limit = 50 }: { limit?: number } = {},
): Promise<{ endpoint: WebhookEndpoint; deliveries: WebhookDelivery[]; attempts: WebhookAttempt[] }> {
  const endpoint = await endpointFor(db, actor, id);
  const deliveries = await db<WebhookDelivery[]>`
    select d.id::text as id, e.id::text as "eventId", 'msg_' || replace(e.id::text, '-', '') as "messageId", e.type,
           d.occurred_at as "occurredAt", d.origin, d.status, d.attempts, d.last_status as "lastStatus",
           d.last_error as "lastError", d.created_at as "createdAt", d.delivered_at as "deliveredAt"
    from webhook_deliveries d join webhook_events e on e.id = d.event_id
    where d.endpoint_id = ${id} order by d.created_at desc, d.id desc limit ${limit}`;
  const attempts = await db<WebhookAttempt[]>`
    select a.id::text as id, a.attempted_at as "attemptedAt", a.ok, a.status_code as "statusCode",
           a.latency_ms as "latencyMs", a.response_excerpt as "responseExcerpt", a.error,
           cardinality(a.delivery_ids) as deliveries
    from webhook_attempts a where a.endpoint_id = ${id} order by a.attempted_at desc, a.id desc limit ${limit}`;
  return { endpoint, deliveries, attempts };
}

/** Deliveries an endpoint may have waiting: a replay or resend beyond it is refused (409). */
export const MAX_PENDING_PER_ENDPOINT = 10_000;
/** Replays and resends of one endpoint per minute (429 beyond). */
export const MANUAL_SENDS_PER_MINUTE = 10;

/** A replay or resend taken from the endpoint's minute; 429 with Retry-After when its minute is spent. */
async function takeManualSend(db: Db, endpointId: string): Promise<void> {
  const taken = await takeAttempt(
    db,
    [{ bucket: `webhook.manual:${endpointId}`, limit: MANUAL_SENDS_PER_MINUTE }],
    60,
  );
  if (!taken.taken)
    throw tooManyAttempts(
      `At most ${MANUAL_SENDS_PER_MINUTE} replays and resends a minute per endpoint: try again in ${taken.retryAfter} s.`,
      taken.retryAfter,
    );
}

/** Refuses (and so rolls back) what would leave the endpoint more than its bound of waiting deliveries. */
async function assertPendingBound(db: Db, endpointId: string): Promise<void> {
  const [row] = await db<{ n: number }[]>`
    select count(*)::int as n from webhook_deliveries where endpoint_id = ${endpointId} and status = 'pending'`;
  if (row!.n > MAX_PENDING_PER_ENDPOINT)
    throw new AppError(
      "conflict",
      `An endpoint has at most ${MAX_PENDING_PER_ENDPOINT} deliveries waiting: let them go out (or narrow the range) first.`,
    );
}

/**
 * Sends one delivery's event again, as a new delivery with the same webhook-id (receivers deduplicate by it). An
 * event already waiting on the endpoint is not queued twice: that delivery is the answer.
 */
export async function resendDelivery(
  db: Db,
  actor: Actor,
  id: string,
  deliveryId: string,
): Promise<WebhookDelivery> {
  // Who may, and which delivery, are answered before the endpoint's minute is taken (a stranger's 404 spends nothing),
  // and the minute is taken before the transaction: on its own connection, never one the transaction waits beside.
  await endpointFor(db, actor, id);
  const source = await deliveryEvent(db, id, deliveryId);
  await takeManualSend(db, id);
  return inTransaction(db, async (tx) => {
    const endpoint = await endpointFor(tx, actor, id);
    const [inserted] = await tx<{ id: string }[]>`
      insert into webhook_deliveries (endpoint_id, event_id, occurred_at, origin)
      select d.endpoint_id, d.event_id, d.occurred_at, 'resend' from webhook_deliveries d
      where d.id = ${deliveryId}::bigint and d.endpoint_id = ${id}
      on conflict do nothing
      returning id::text as id`;
    const [row] = inserted
      ? [inserted]
      : await tx<{ id: string }[]>`
          select id::text as id from webhook_deliveries
          where endpoint_id = ${id} and event_id = ${source.eventId}::uuid and status = 'pending'`;
    if (!row) throw notFound("The delivery");
    await assertPendingBound(tx, id);
    if (endpoint.enabled) await enqueueDelivery(tx, id);
    await recordAudit(tx, actor, {
      action: "webhook.resend",
      targetType: "webhook_endpoint",
      targetId: id,
      after: { deliveryId, resendId: row.id },
    });
    const [delivery] = await tx<WebhookDelivery[]>`
      select d.id::text as id, e.id::text as "eventId", 'msg_' || replace(e.id::text, '-', '') as "messageId", e.type,
             d.occurred_at as "occurredAt", d.origin, d.status, d.attempts, d.last_status as "lastStatus",
             d.last_error as "lastError", d.created_at as "createdAt", d.delivered_at as "deliveredAt"
      from webhook_deliveries d join webhook_events e on e.id = d.event_id where d.id = ${row.id}::bigint`;
    return delivery!;
  });
}

/** The event of an endpoint's delivery (404 for a delivery of no such id on it). */
async function deliveryEvent(db: Db, id: string, deliveryId: string): Promise<{ eventId: string }> {
  if (!/^\d{1,18}$/.test(deliveryId)) throw notFound("The delivery");
  const [source] = await db<{ eventId: string }[]>`
    select event_id::text as "eventId" from webhook_deliveries where id = ${deliveryId}::bigint and endpoint_id = ${id}`;
  if (!source) throw notFound("The delivery");
  return source;
}

const MAX_REPLAY = 10_000;

/** New deliveries of the account's past events of [from, to) the endpoint subscribes to, in call order. */
export async function replayRange(
  db: Db,
  actor: Actor,
  id: string,
  { from, to }: { from: Date; to: Date },
): Promise<{ created: number }> {
  // As resendDelivery: a stranger's 404 first, then the endpoint's minute on its own connection, then the transaction.
  await endpointFor(db, actor, id);
  await takeManualSend(db, id);
  return inTransaction(db, async (tx) => {
    const endpoint = await endpointFor(tx, actor, id, true);
    const [count] = await tx<{ n: number }[]>`
      select count(*)::int as n from webhook_events e
      where e.account_id = ${endpoint.accountId} and e.occurred_at >= ${from} and e.occurred_at < ${to}
        and e.type = any(${tx.array(endpoint.eventTypes)}::text[])`;
    if (count!.n > MAX_REPLAY)
      throw new AppError(
        "validation_failed",
        `At most ${MAX_REPLAY} events are replayed at once: narrow the range.`,
        {
          issues: [{ path: "to", message: `the range holds ${count!.n} events` }],
        },
      );
    const rows = await tx`
      insert into webhook_deliveries (endpoint_id, event_id, occurred_at, origin)
      select ${id}, e.id, e.occurred_at, 'replay' from webhook_events e
      where e.account_id = ${endpoint.accountId} and e.occurred_at >= ${from} and e.occurred_at < ${to}
        and e.type = any(${tx.array(endpoint.eventTypes)}::text[])
      order by e.occurred_at, e.id
      -- An event already waiting on the endpoint is not queued again (webhook_deliveries_pending_once).
      on conflict do nothing
      returning id`;
    await assertPendingBound(tx, id);
    if (rows.length && endpoint.enabled) await enqueueDelivery(tx, id);
    await recordAudit(tx, actor, {
      action: "webhook.replay",
      targetType: "webhook_endpoint",
      targetId: id,
      after: { from, to, created: rows.length },
    });
    return { created: rows.length };
  });
}

/**
 * A member who no longer manages the organization's webhooks (removed, left, or demoted below admin): the enabled
 * endpoints they made on its account are switched off in the caller's transaction, each audited, and the
 * organization's owners and admins told (the webhooks.disabled.notify job). Another admin can switch one back on.
 */
export async function disableEndpointsMadeBy(
  db: Db,
  actor: Actor,
  { accountId, userId, reason }: { accountId: string; userId: string; reason: string },
): Promise<string[]> {
  const rows = await db<{ id: string; url: string; description: string }[]>`
    update webhook_endpoints set enabled = false, disabled_reason = ${reason}, next_attempt_at = null
    where account_id = ${accountId} and created_by = ${userId} and enabled
    returning id::text as id, url, description`;
  for (const row of rows) {
    await recordAudit(db, actor, {
      action: "webhook.disable",
      targetType: "webhook_endpoint",
      targetId: row.id,
      before: { enabled: true, createdBy: userId },
      after: { enabled: false, disabledReason: reason },
    });
    await enqueue(
      db,
      WEBHOOK_DISABLED_JOB,
      { endpointId: row.id, cause: "maker" },
      { maxAttempts: 8, backoffBaseMs: 5_000 },
    );
  }
  return rows.map((r) => r.id);
}
