import "server-only";
import type { Actor } from "@/lib/auth/types";
import { hideCost, ownerScope, seesCost, withMargin } from "@/lib/auth/visibility";
import { decimalUsd } from "@/lib/billing/money";
import { csvField } from "@/lib/csv";
import type { Db } from "@/lib/db/client";
import { AppError, notFound } from "@/lib/http/errors";
import { ORG_VERBS } from "@/lib/orgs/access";
import { accountRows, keyByKey, usageCounts, usageCredential, usageProviderModel } from "@/lib/usage/columns";
import { callIdMatching, callsMatching } from "./call-key";
import { piiSummary, type RequestExportQuery, type RequestLogQuery } from "./schemas";
import {
  type Range,
  resolveRange,
  type ScopedFilters,
  usageScope,
  usageUser,
  usageUserKeys,
  usageWhere,
} from "./usage";

// The request log: one row per call the gateway reported, newest first, paged by a (started_at, id) cursor so a
// page costs the same on the millionth row as on the first (no OFFSET). Prompt and completion bodies are never
// stored: the log holds what a call was, not what it said. Each call is attributed to its key, the user who made it
// (the key's person, or the member who made an organization's key) and the organization it was charged to.

export interface RequestRow {
  id: string;
  callId: string;
  startedAt: Date;
  endedAt: Date;
  latencyMs: number;
  /** Streams: time to the first token at the gateway. */
  ttftMs: number | null;
  userId: string;
  userEmail: string;
  /** The organization the call was charged to; null: its user's own account. */
  organizationId: string | null;
  organizationSlug: string | null;
  organizationName: string | null;
  keyId: string;
  keyPrefix: string;
  keyName: string;
  model: string;
  providerModel: string;
  kind: string;
  status: string;
  stream: boolean;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  /** Units besides prompt/completion tokens (clause 41): cache writes and reasoning are inside those counts. */
  cacheWriteTokens: number;
  reasoningTokens: number;
  images: number;
  /** The size and quality an image call asked for (what its images were priced at; null: the default). */
  imageSize: string | null;
  imageQuality: string | null;
  audioMs: number;
  characters: number;
  billingStatus: string;
  revenueMicros: bigint;
  /** Admins only (and margin). */
  costMicros?: bigint;
  marginMicros?: bigint;
  errorClass: string | null;
  /** Answered from the response cache (clause 60): charged the model's cache-hit share, no provider cost. */
  cacheHit: boolean;
  /** On a hit, what the customer did not pay: the full price minus the hit's charge; null otherwise. */
  cacheSavedMicros: bigint | null;
  /** PII category → how many values the guardrails masked in what the call sent; null when none. */
  piiMasked: Record<string, number> | null;
  /** The prompt-injection heuristic's score, 0–100 (flagged from FLAGGED_SAFETY_SCORE); null when not scored. */
  safetyScore: number | null;
  /** Whose provider credentials served it: the platform's, or the owner's own (BYOK: charged the plan's fee). */
  credential: "platform" | "byok";
}

const rowColumns = (db: Db) => db`
  e.id::text as id, e.call_id as "callId", e.started_at as "startedAt", e.ended_at as "endedAt",
  greatest(0, round(extract(epoch from (e.ended_at - e.started_at)) * 1000))::float8 as "latencyMs",
  round(extract(epoch from (e.first_token_at - e.started_at)) * 1000)::float8 as "ttftMs",
  k.user_id::text as "userId", u.email as "userEmail", o.id::text as "organizationId", o.slug as "organizationSlug",
  o.name as "organizationName", e.key_id::text as "keyId", k.prefix as "keyPrefix",
  k.name as "keyName", e.model_group as model, ${usageProviderModel(db, "e")} as "providerModel", e.kind, e.status, e.stream,
  e.prompt_tokens as "promptTokens", e.completion_tokens as "completionTokens",
  ${usageCounts(db, "e")}, e.image_size as "imageSize", e.image_quality as "imageQuality",
  billing_status(e.status) as "billingStatus", e.revenue_micros as "revenueMicros", e.cost_micros as "costMicros",
  e.error_class as "errorClass", e.cache_hit as "cacheHit", e.cache_saved_micros as "cacheSavedMicros",
  e.pii_masked as "piiMasked", e.safety_score as "safetyScore",
  ${usageCredential(db, "e")} as credential`;

/**
 * What rowColumns reads from: the call e, its key k, its user u (the key's: a key's user never changes, docs/adr/0037),
 * and the organization o it was charged to.
 */
const rowSource = (db: Db, events = db`usage_events e`) => db`
  ${events} join api_keys k on k.id = e.key_id join users u on u.id = k.user_id
  join accounts ea on ea.id = e.account_id left join organizations o on o.id = ea.organization_id`;

const DAY_MS = 86_400_000;

/**
 * The time range a log query reads: its filters' (default: the last 7 days), except that a call id search without
 * from/to looks over the longest range the API serves (400 days), so a link to an older call still finds it.
 */
export function logRange(q: RequestExportQuery, now = new Date()): Range {
  if (!q.callId || q.from || q.to) return resolveRange(q, now);
  const to = new Date(now.getTime() + DAY_MS);
  return { from: new Date(to.getTime() - 400 * DAY_MS), to };
}

/** The log's own filters: answered from the cache or not, and a safety score at least so high (unscored calls out). */
function signalWhere(db: Db, q: Pick<RequestExportQuery, "cacheHit" | "minSafetyScore" | "credential">) {
  return db`
    ${q.cacheHit ? db`and e.cache_hit = ${q.cacheHit === "true"}` : db``}
    ${q.credential ? db`and ${usageCredential(db, "e")} = ${q.credential}` : db``}
    ${q.minSafetyScore !== undefined ? db`and e.safety_score >= ${q.minSafetyScore}` : db``}`;
}

/**
 * Calls with this id, or (fewer than 36 characters) whose id starts with it: found by their key (a claim in usage_calls,
 * or a UUIDv7 call's own partition index: callsMatching, lib/analytics/call-key.ts), whose started_at leads each to the
 * one partition of usage_events its row is in.
 */
function callIdWhere(db: Db, callId: string | undefined) {
  if (!callId) return db``;
  return db`and ${callIdMatching(db, callId)}
            and (e.key_id, e.started_at, call_key(e.call_id)) in (select * from ${callsMatching(db, callId)} c)`;
}

/** The cursor is the last row's (started_at to the microsecond, id), base64url: opaque to clients. */
function encodeCursor(startedAtMicros: string, id: string): string {
  return Buffer.from(`${startedAtMicros}:${id}`).toString("base64url");
}

function decodeCursor(cursor: string): { micros: string; id: string } {
  const m = /^(\d{1,17}):(\d{1,19})$/.exec(Buffer.from(cursor, "base64url").toString());
  if (!m) {
    throw new AppError("validation_failed", "The cursor is not one this API gave out.", {
      issues: [{ path: "cursor", message: "invalid cursor" }],
    });
  }
  return { micros: m[1]!, id: m[2]! };
}

/** Calls after `after` in the log's order (newest first): the keyset of the request log and of its CSV export. */
function olderThan(db: Db, after: { micros: string; id: string } | null) {
  return after
    ? db`and (e.started_at, e.id) < (timestamptz 'epoch' + (${after.micros} || ' microseconds')::interval, ${after.id}::bigint)`
    : db``;
}

/**
 * The `limit` calls after `after` in the log's order, with their columns and cursor: the request log's page and the
 * CSV export's. A user's log (their own, a member's in an organization, an admin's filtered by a user) is read key by
 * key (docs/adr/0037): each of the user's keys gives its newest calls past the cursor through usage_events_key_idx, in
 * order and at most `limit` of them, and the page is the newest `limit` of those. So a page costs at most keys × limit
 * index reads, however many calls the user made, where one scan of the keys' calls would sort them all.
 */
function logPage(
  db: Db,
  actor: Actor,
  f: ScopedFilters,
  range: Range,
  q: RequestExportQuery,
  after: { micros: string; id: string } | null,
  limit: number,
) {
  const user = usageUser(actor, f);
  const filters = db`
    ${usageWhere(db, actor, f, range)}
    ${signalWhere(db, q)}
    ${callIdWhere(db, q.callId)}
    ${olderThan(db, after)}`;
  const events = user
    ? keyByKey(db, usageUserKeys(db, actor, f, user, range), limit, "e", filters)
    : db`usage_events e`;
  return db<(RequestRow & { costMicros: bigint; cursorMicros: string })[]>`
    select ${rowColumns(db)},
           (extract(epoch from e.started_at) * 1000000)::bigint::text as "cursorMicros"
    from ${rowSource(db, events)}
    ${user ? db`` : filters}
    order by e.started_at desc, e.id desc
    limit ${limit}`;
}

export async function listRequests(
  db: Db,
  actor: Actor,
  q: RequestLogQuery,
): Promise<{ items: RequestRow[]; nextCursor: string | null; range: Range }> {
  const range = logRange(q);
  const after = q.cursor ? decodeCursor(q.cursor) : null;
  const f = await usageScope(db, actor, q);
  const rows = await logPage(db, actor, f, range, q, after, q.limit + 1);
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  const nextCursor = rows.length > q.limit && last ? encodeCursor(last.cursorMicros, last.id) : null;
  return {
    items: page.map(({ cursorMicros: _c, ...row }) => withMargin(actor, row)),
    nextCursor,
    range,
  };
}

export interface RequestDetail extends RequestRow {
  accountId: string;
  receivedAt: Date;
  reportedCostMicros?: bigint;
  priceVersion: {
    id: string;
    effectiveFrom: Date;
    inputPriceMicros: bigint;
    outputPriceMicros: bigint;
    cachedInputPriceMicros: bigint | null;
    /** What each of an image call's images was charged (image_rate at its size and quality); null otherwise. */
    imageRateMicros: bigint | null;
    inputCostMicros?: bigint;
    outputCostMicros?: bigint;
  } | null;
  hold: {
    id: string;
    status: string;
    amountMicros: bigint;
    createdAt: Date;
    closedAt: Date | null;
    closeReason: string | null;
  } | null;
  lease: {
    id: string;
    status: string;
    grantedMicros: bigint;
    drawnMicros: bigint;
    chargedMicros: bigint;
    calls: number;
    createdAt: Date;
    expiresAt: Date;
  } | null;
  drawMicros: bigint | null;
  ledger: {
    id: string;
    kind: string;
    createdAt: Date;
    /**
     * This account's entry in the transaction (a batch's charges are summed per account) and how many of its calls
     * that entry charged. Left out for an organization's call to a member whose role does not read every member's
     * usage: the entry sums other members' calls.
     */
    accountAmountMicros?: bigint;
    events?: number;
  } | null;
}

/** Whether the call e was charged to an organization in which the user's role reads every member's usage. */
const orgWide = (db: Db, userId: string) => db`
  exists (select 1 from organization_members m where m.organization_id = ea.organization_id
            and m.user_id = ${userId} and m.role = any(${db.array([...ORG_VERBS["usage.all"]])}::text[]))`;

/**
 * One call with what reserved its money (hold or lease), the ledger transaction that charged it, its price: to a
 * developer (and in own views) their own calls and the calls of organizations whose usage their role reads. With
 * the call's UTC day (the request log passes it) only that day's partition of usage_events is read.
 */
export async function requestDetail(db: Db, actor: Actor, id: string, day?: string): Promise<RequestDetail> {
  if (!/^\d{1,19}$/.test(id)) throw notFound("The call");
  const own = ownerScope(actor);
  // The account's entry covers every call of that account in the batch: one's own account's, or an organization's
  // to whoever reads all of its usage.
  const seesEntry = own ? db`(ea.organization_id is null or ${orgWide(db, own)})` : db`true`;
  const [row] = await db<(RequestDetail & { costMicros: bigint })[]>`
    select ${rowColumns(db)}, e.account_id::text as "accountId", e.received_at as "receivedAt",
           coalesce(e.reported_cost_micros, 0) as "reportedCostMicros", e.draw_micros as "drawMicros",
           case when p.id is null then null else json_build_object(
             'id', p.id, 'effectiveFrom', p.effective_from, 'inputPriceMicros', p.input_price_micros::text,
             'outputPriceMicros', p.output_price_micros::text, 'cachedInputPriceMicros', p.cached_input_price_micros::text,
             'inputCostMicros', p.input_cost_micros::text, 'outputCostMicros', p.output_cost_micros::text,
             'imageRateMicros', case when e.images > 0
                                     then image_rate(p, 'price', e.image_size, e.image_quality)::text end
           ) end as "priceVersion",
           case when h.id is null then null else json_build_object(
             'id', h.id, 'status', h.status, 'amountMicros', h.amount_micros::text, 'createdAt', h.created_at,
             'closedAt', h.closed_at, 'closeReason', h.close_reason) end as hold,
           case when l.id is null then null else json_build_object(
             'id', l.id, 'status', l.status, 'grantedMicros', l.granted_micros::text, 'drawnMicros', l.drawn_micros::text,
             'chargedMicros', l.charged_micros::text, 'calls', l.calls, 'createdAt', l.created_at,
             'expiresAt', l.expires_at) end as lease,
           case when t.id is null then null
                when ${seesEntry} then json_build_object(
             'id', t.id, 'kind', t.kind, 'createdAt', t.created_at,
             'accountAmountMicros', (select coalesce(sum(le.amount_micros), 0)::text from ledger_entries le
                                     where le.transaction_id = t.id and le.account_id = e.account_id),
             'events', (select count(*) from usage_events x
                        where x.ledger_transaction_id = t.id and ${accountRows(db, "x", db`e.account_id`)}))
                else json_build_object('id', t.id, 'kind', t.kind, 'createdAt', t.created_at) end as ledger
    from ${rowSource(db)}
    left join price_versions p on p.id = e.price_version_id
    left join holds h on h.id = e.hold_id
    left join leases l on l.id = e.lease_id
    left join ledger_transactions t on t.id = e.ledger_transaction_id
    where e.id = ${id}::bigint ${own ? db`and (k.user_id = ${own} or ${orgWide(db, own)})` : db``}
    ${
      day
        ? db`and e.started_at >= ${day}::date::timestamp at time zone 'utc'
             and e.started_at < (${day}::date + 1)::timestamp at time zone 'utc'`
        : db``
    }`;
  if (!row) throw notFound("The call");
  const big = (v: unknown) => (v === null || v === undefined ? null : BigInt(v as string));
  const priceVersion = row.priceVersion && {
    ...row.priceVersion,
    inputPriceMicros: big(row.priceVersion.inputPriceMicros)!,
    outputPriceMicros: big(row.priceVersion.outputPriceMicros)!,
    cachedInputPriceMicros: big(row.priceVersion.cachedInputPriceMicros),
    imageRateMicros: big(row.priceVersion.imageRateMicros),
    inputCostMicros: big(row.priceVersion.inputCostMicros)!,
    outputCostMicros: big(row.priceVersion.outputCostMicros)!,
  };
  return {
    ...hideCost(actor, withMargin(actor, row), ["reportedCostMicros"]),
    priceVersion: priceVersion && hideCost(actor, priceVersion, ["inputCostMicros", "outputCostMicros"]),
    hold: row.hold && { ...row.hold, amountMicros: big(row.hold.amountMicros)! },
    lease: row.lease && {
      ...row.lease,
      grantedMicros: big(row.lease.grantedMicros)!,
      drawnMicros: big(row.lease.drawnMicros)!,
      chargedMicros: big(row.lease.chargedMicros)!,
    },
    ledger:
      row.ledger &&
      (row.ledger.accountAmountMicros === undefined
        ? row.ledger
        : {
            ...row.ledger,
            accountAmountMicros: big(row.ledger.accountAmountMicros)!,
            events: Number(row.ledger.events),
          }),
  };
}

/** The CSV export's file name: the UTC days of its range. */
export function exportFileName(f: RequestExportQuery): string {
  const { from, to } = logRange(f);
  return `tollgate-requests-${from.toISOString().slice(0, 10)}-to-${to.toISOString().slice(0, 10)}.csv`;
}

const EXPORT_PAGE = 1000;

/**
 * The filtered calls as CSV, newest first, streamed a page of EXPORT_PAGE rows at a time (constant memory for any
 * number of rows): UTC times, money as exact decimal dollars, each call's user and organization. Admins get cost and
 * margin columns. Whose calls it holds is resolved before the stream starts, so a refusal is an error response, not a
 * file. Each page is its own query after the last row of the one before (the request log's keyset), never a cursor
 * held open while the client reads: behind a transaction pooler a download that stops reading would pin one of its
 * few server connections until the function times out (docs/adr/0023).
 */
export async function exportRequests(
  db: Db,
  actor: Actor,
  query: RequestExportQuery,
): Promise<ReadableStream<Uint8Array>> {
  const range = logRange(query);
  const f = await usageScope(db, actor, query);
  const admin = seesCost(actor);
  const header = [
    "started_at_utc",
    "ended_at_utc",
    "latency_ms",
    "ttft_ms",
    "call_id",
    "user_email",
    "organization",
    "organization_slug",
    "key_prefix",
    "key_name",
    "model",
    "provider_model",
    "kind",
    "status",
    "stream",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "images",
    "image_size",
    "image_quality",
    "audio_seconds",
    "characters",
    "billing_status",
    "revenue_usd",
    ...(admin ? ["cost_usd", "margin_usd"] : []),
    "error_class",
    "credential",
    "cache_hit",
    "cache_saved_usd",
    "pii_masked",
    "safety_score",
  ];
  const encoder = new TextEncoder();
  let after: { micros: string; id: string } | null = null;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(`${header.join(",")}\r\n`));
    },
    async pull(controller) {
      const page = await logPage(db, actor, f, range, query, after, EXPORT_PAGE);
      const last = page.at(-1);
      if (!last) {
        controller.close();
        return;
      }
      after = { micros: last.cursorMicros, id: last.id };
      const lines = page.map((r) =>
        [
          r.startedAt.toISOString(),
          r.endedAt.toISOString(),
          String(r.latencyMs),
          r.ttftMs === null ? "" : String(r.ttftMs),
          r.callId,
          r.userEmail,
          r.organizationName ?? "",
          r.organizationSlug ?? "",
          r.keyPrefix,
          r.keyName,
          r.model,
          r.providerModel,
          r.kind,
          r.status,
          String(r.stream),
          String(r.promptTokens),
          String(r.completionTokens),
          String(r.cachedTokens),
          String(r.cacheWriteTokens),
          String(r.reasoningTokens),
          String(r.images),
          r.imageSize ?? "",
          r.imageQuality ?? "",
          (r.audioMs / 1000).toFixed(3),
          String(r.characters),
          r.billingStatus,
          decimalUsd(r.revenueMicros),
          ...(admin ? [decimalUsd(r.costMicros), decimalUsd(r.revenueMicros - r.costMicros)] : []),
          r.errorClass ?? "",
          r.credential,
          String(r.cacheHit),
          r.cacheSavedMicros === null ? "" : decimalUsd(r.cacheSavedMicros),
          piiSummary(r.piiMasked),
          r.safetyScore === null ? "" : String(r.safetyScore),
        ]
          .map(csvField)
          .join(","),
      );
      controller.enqueue(encoder.encode(`${lines.join("\r\n")}\r\n`));
      if (page.length < EXPORT_PAGE) controller.close();
    },
  });
}
