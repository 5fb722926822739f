import "server-only";
import { recordAudit } from "@/lib/audit/record";
import type { Actor } from "@/lib/auth/types";
import { actsAsPlatformAdmin } from "@/lib/auth/visibility";
import type { Db } from "@/lib/db/client";
import { forbidden, notFound } from "@/lib/http/errors";
import { toJsonText } from "@/lib/http/respond";
import { orgFor } from "@/lib/orgs/access";
import { readStatement } from "@/lib/statements/read";
import type { Statement } from "@/lib/statements/schemas";
import { orgRows, usageCounts, usageProviderModel, userKeys } from "@/lib/usage/columns";

// Data export (GDPR art. 15 and 20): a person's own data, or an organization's, as one JSON document. The small
// sections are read before the download starts (so a refusal is an error response, not a file); usage, ledger
// entries, conversations, notifications and audit entries are streamed a page at a time, each page one query after
// the last row of the one before (never a server-side cursor held open while the client reads: behind a transaction
// pooler a download that stalls would pin one of its few server connections, docs/adr/0023), so memory stays
// bounded for any number of calls. Never a key hash, password hash, session or invitation
// token; no provider cost (clause 25: money the platform pays is not the customer's data).

const BATCH = 500;

export interface DataExport {
  fileName: string;
  stream: ReadableStream<Uint8Array>;
}

type Section = [name: string, rows: () => AsyncIterable<readonly unknown[]>];

type Row = Record<string, unknown>;

/**
 * A section's rows, page by page: `page(after)` reads up to `size` rows after the last row of the page before (null
 * for the first); a short page is the last. `pageKey`, a column only the paging reads, is left out of the rows.
 */
async function* pages(size: number, page: (after: Row | null) => Promise<readonly Row[]>) {
  let after: Row | null = null;
  for (;;) {
    const rows = await page(after);
    if (rows.length) yield rows.map(({ pageKey: _key, ...row }) => row);
    if (rows.length < size) return;
    after = rows.at(-1)!;
  }
}

/** A timestamp to the microsecond, as the paging key of rows ordered by it (a JS Date keeps milliseconds only). */
const micros = (db: Db, column: string) =>
  db`(extract(epoch from ${db.unsafe(column)}) * 1000000)::bigint::text as "pageKey"`;

/** Rows after `after` by (timestamp, id), the timestamp read back from its pageKey. */
const afterTimeAndId = (db: Db, column: string, idColumn: string, idType: string, after: Row | null) =>
  after
    ? db`and (${db.unsafe(column)}, ${db.unsafe(idColumn)}) > (timestamptz 'epoch' + (${String(after.pageKey)} || ' microseconds')::interval, ${String(after.id)}::${db.unsafe(idType)})`
    : db``;

/**
 * A user's calls, oldest first, BATCH at a time: day by day over the UTC days they called on (usage_owner_days, kept
 * with every insert: docs/adr/0024), each day's calls key by key in that day's partition (docs/adr/0037: no index on
 * user_id; a key's user never changes), each of the day's keys giving its next BATCH calls through its index and the
 * page the first BATCH of those. A page costs per key that called that day, not per key or partition ever made.
 */
async function* userUsage(db: Db, userId: string) {
  const days = await db<{ day: string }[]>`
    select day::text as day from usage_owner_days where owner_kind = 'user' and owner_id = ${userId} order by day`;
  for (const { day } of days) {
    const from = new Date(`${day}T00:00:00Z`);
    const to = new Date(from.getTime() + 86_400_000);
    yield* pages(
      BATCH,
      (after) =>
        db<Row[]>`select ${usageColumns(db)}, ${micros(db, "e.started_at")}
          from unnest(${userKeys(db, userId, { range: { from, to } })}) uk(id)
          cross join lateral (
            select * from usage_events e
            where e.key_id = uk.id and e.started_at >= ${from} and e.started_at < ${to}
              ${afterTimeAndId(db, "e.started_at", "e.id", "bigint", after)}
            order by e.started_at, e.id limit ${BATCH}) e
          order by e.started_at, e.id limit ${BATCH}`,
    );
  }
}

/** Rows after `after` by id (a bigint identity). */
const afterId = (db: Db, idColumn: string, after: Row | null) =>
  after ? db`and ${db.unsafe(idColumn)} > ${String(after.id)}::bigint` : db``;

/** The document: the head's fields, then each streamed section as an array, written batch by batch. */
async function* documentText(head: Record<string, unknown>, sections: Section[]): AsyncGenerator<string> {
  yield toJsonText(head).slice(0, -1);
  for (const [name, rows] of sections) {
    yield `,${JSON.stringify(name)}:[`;
    let first = true;
    for await (const batch of rows()) {
      if (!batch.length) continue;
      yield `${first ? "" : ","}${batch.map((row) => toJsonText(row)).join(",")}`;
      first = false;
    }
    yield "]";
  }
  yield "}\n";
}

function streamOf(chunks: AsyncGenerator<string>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await chunks.next();
      if (next.done) controller.close();
      else controller.enqueue(encoder.encode(next.value));
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
}

/** One usage row as exported: the call's ids, units and charge (what the customer paid), no provider cost. */
const usageColumns = (db: Db) => db`
  e.id, e.call_id as "callId", e.key_id as "keyId",
  -- The key's user: a key's user never changes (docs/adr/0037) and a row does not store it (docs/adr/0040).
  (select ku.user_id from api_keys ku where ku.id = e.key_id) as "userId", e.account_id as "accountId",
  e.model_group as model, ${usageProviderModel(db, "e")} as "providerModel", e.kind, e.status, e.stream,
  e.prompt_tokens as "promptTokens", e.completion_tokens as "completionTokens", ${usageCounts(db, "e")},
  e.image_size as "imageSize", e.image_quality as "imageQuality",
  billing_status(e.status) as "billingStatus", e.revenue_micros as "chargeMicros",
  e.ledger_transaction_id as "ledgerTransactionId", e.error_class as "errorClass",
  e.started_at as "startedAt", e.ended_at as "endedAt", e.received_at as "receivedAt"`;

const ledgerColumns = (db: Db) => db`
  le.id, le.transaction_id as "transactionId", le.account_id as "accountId", le.amount_micros as "amountMicros",
  lt.kind, lt.reason, le.created_at as "createdAt"`;

const keyColumns = (db: Db) => db`
  k.id, k.prefix, k.name, k.status, k.purpose, k.user_id as "userId", k.account_id as "accountId",
  k.allowed_models as "allowedModels", k.rpm_limit as "rpmLimit", k.tpm_limit as "tpmLimit",
  k.daily_budget_micros as "dailyBudgetMicros", k.monthly_budget_micros as "monthlyBudgetMicros",
  k.created_at as "createdAt", k.expires_at as "expiresAt", k.revoked_at as "revokedAt",
  k.last_used_at as "lastUsedAt", k.rotated_from as "rotatedFrom"`;

const paymentColumns = (db: Db) => db`
  p.id, p.account_id as "accountId", p.user_id as "userId", p.amount_micros as "amountMicros",
  p.paid_micros as "paidMicros", p.refunded_micros as "refundedMicros", p.currency, p.status,
  p.failure_reason as "failureReason", p.stripe_session_id as "stripeSessionId",
  p.created_at as "createdAt", p.completed_at as "completedAt"`;

const invitationColumns = (db: Db) => db`
  i.id, i.organization_id as "organizationId", o.name as "organizationName", i.email, i.role,
  i.invited_by as "invitedBy", i.created_at as "createdAt", i.expires_at as "expiresAt",
  i.accepted_at as "acceptedAt", i.revoked_at as "revokedAt"`;

/**
 * An audit entry as exported. The address it was made from is the actor's personal data: a person's export carries it
 * only for what they did themselves (never the address of an admin who acted on them), an organization's never (its
 * members' addresses are theirs, not the organization's).
 */
const auditColumns = (db: Db, ipOf: string | null) => db`
  a.id, a.at, a.actor_id as "actorId", a.actor_kind as "actorKind", a.action, a.target_type as "targetType",
  a.target_id as "targetId", a.before, a.after,
  case when ${ipOf}::uuid is not null and a.actor_id = ${ipOf}::uuid then a.ip end as ip`;

/** A webhook endpoint as exported: where it sends and what, never its signing secrets. */
const endpointColumns = (db: Db) => db`
  w.id, w.account_id as "accountId", w.url, w.description, w.event_types as "eventTypes", w.enabled,
  w.disabled_reason as "disabledReason", w.batch_max as "batchMax", w.timeout_ms as "timeoutMs",
  w.created_by as "createdBy", w.created_at as "createdAt", w.updated_at as "updatedAt"`;

const receiptColumns = (db: Db) => db`
  r.label, r.number, r.transaction_id as "transactionId", r.account_id as "accountId", r.amount_micros as "amountMicros",
  r.kind, r.created_at as "createdAt"`;

/** An account's closed statements, each as its page shows it (lines and totals), oldest first. */
async function closedStatements(db: Db, accountId: string | null): Promise<Statement[]> {
  if (!accountId) return [];
  const months = await db<{ month: string }[]>`
    select to_char(month, 'YYYY-MM') as month from statements where account_id = ${accountId} order by month`;
  const statements: Statement[] = [];
  for (const { month } of months) statements.push(await readStatement(db, accountId, month));
  return statements;
}

/**
 * A person's data (profile, account, memberships, sessions, keys, invitations, payments; then usage, ledger entries,
 * playground conversations, notifications and audit entries by or about them): the person themselves, or a
 * platform admin. Audited as user.exported.
 */
export async function exportUserData(db: Db, actor: Actor, userId: string): Promise<DataExport> {
  if (actor.userId !== userId && !actsAsPlatformAdmin(actor)) {
    throw forbidden("You can export your own data only.");
  }
  const [profile] = await db<{ id: string; email: string }[]>`
    select u.id, u.email, u.name, u.role, u.status, p.name as plan, u.created_at as "createdAt",
           u.updated_at as "updatedAt", (u.password_hash is not null) as "hasPassword",
           (u.auth_user_id is not null) as "linkedToSupabase"
    from users u left join plans p on p.id = u.plan_id
    where u.id = ${userId}`;
  if (!profile) throw notFound("User");
  const [account] = await db<{ id: string }[]>`
    select id, balance_micros as "balanceMicros", held_micros as "heldMicros",
           daily_budget_micros as "dailyBudgetMicros", monthly_budget_micros as "monthlyBudgetMicros",
           low_balance_micros as "lowBalanceMicros", created_at as "createdAt"
    from accounts where owner_user_id = ${userId}`;
  const memberships = await db`
    select o.id as "organizationId", o.name, o.slug, m.role, m.daily_cap_micros as "dailyCapMicros",
           m.monthly_cap_micros as "monthlyCapMicros", m.joined_at as "joinedAt"
    from organization_members m join organizations o on o.id = m.organization_id
    where m.user_id = ${userId} order by m.joined_at`;
  const sessions = await db`
    select id, created_at as "createdAt", last_seen_at as "lastSeenAt", expires_at as "expiresAt",
           revoked_at as "revokedAt", ip, user_agent as "userAgent"
    from sessions where user_id = ${userId} order by created_at`;
  const keys =
    await db`select ${keyColumns(db)} from api_keys k where k.user_id = ${userId} order by k.created_at`;
  const invitations = await db`
    select ${invitationColumns(db)}
    from organization_invitations i join organizations o on o.id = i.organization_id
    where i.email = ${profile.email} or i.invited_by = ${userId} order by i.created_at`;
  const payments = await db`
    select ${paymentColumns(db)} from payments p
    where p.user_id = ${userId} or p.account_id = ${account?.id ?? null} order by p.created_at`;
  const webhookEndpoints = await db`
    select ${endpointColumns(db)} from webhook_endpoints w
    where w.account_id = ${account?.id ?? null} or w.created_by = ${userId} order by w.created_at, w.id`;
  const receipts = await db`
    select ${receiptColumns(db)} from receipts r where r.account_id = ${account?.id ?? null} order by r.number`;
  const statements = await closedStatements(db, account?.id ?? null);

  await recordAudit(db, actor, { action: "user.exported", targetType: "user", targetId: userId });

  const head = {
    format: "tollgate.user-export",
    version: 1,
    exportedAt: new Date().toISOString(),
    moneyUnit: "micro-USD (1 USD = 1,000,000)",
    profile,
    account: account ?? null,
    memberships,
    sessions,
    keys,
    invitations,
    payments,
    webhookEndpoints,
    statements,
    receipts,
  };
  const sections: Section[] = [
    ["usage", () => userUsage(db, userId)],
    [
      "ledgerEntries",
      () =>
        pages(
          BATCH,
          (after) =>
            db<Row[]>`select ${ledgerColumns(db)}
               from ledger_entries le join ledger_transactions lt on lt.id = le.transaction_id
               where le.account_id = ${account?.id ?? null} ${afterId(db, "le.id", after)}
               order by le.id limit ${BATCH}`,
        ),
    ],
    [
      "playgroundConversations",
      () =>
        pages(
          50,
          (after) =>
            db<
              Row[]
            >`select id, account_id as "accountId", title, settings, messages, created_at as "createdAt",
                      updated_at as "updatedAt", ${micros(db, "created_at")}
               from playground_conversations
               where user_id = ${userId} ${afterTimeAndId(db, "created_at", "id", "uuid", after)}
               order by created_at, id limit 50`,
        ),
    ],
    [
      "notifications",
      () =>
        pages(
          BATCH,
          (after) =>
            db<Row[]>`select id, kind, recipient, subject, status, created_at as "createdAt"
               from notifications where lower(recipient) = ${profile.email} ${afterId(db, "id", after)}
               order by id limit ${BATCH}`,
        ),
    ],
    [
      "audit",
      () =>
        pages(
          BATCH,
          (after) =>
            db<Row[]>`select ${auditColumns(db, userId)} from audit_log a
               where (a.actor_id = ${userId} or (a.target_type = 'user' and a.target_id = ${userId}::text))
                 ${afterId(db, "a.id", after)}
               order by a.id limit ${BATCH}`,
        ),
    ],
  ];
  return { fileName: `tollgate-export-user-${userId}.json`, stream: streamOf(documentText(head, sections)) };
}

/**
 * An organization's data (organization, account, members, keys, invitations, payments, seat charges; then usage,
 * ledger entries and the audit entries about it): its owner, or a platform admin. Audited as organization.exported.
 */
export async function exportOrgData(db: Db, actor: Actor, ref: string): Promise<DataExport> {
  const ctx = await orgFor(db, actor, ref, "ownership");
  const [organization] = await db`
    select o.id, o.name, o.slug, o.status, o.created_by as "createdBy", o.created_at as "createdAt",
           a.id as "accountId", a.balance_micros as "balanceMicros", a.held_micros as "heldMicros",
           a.daily_budget_micros as "dailyBudgetMicros", a.monthly_budget_micros as "monthlyBudgetMicros",
           a.allowed_models as "allowedModels", p.name as plan
    from organizations o join accounts a on a.organization_id = o.id left join plans p on p.id = a.plan_id
    where o.id = ${ctx.id}`;
  const members = await db`
    select m.user_id as "userId", u.email, u.name, m.role, m.daily_cap_micros as "dailyCapMicros",
           m.monthly_cap_micros as "monthlyCapMicros", m.invited_by as "invitedBy", m.joined_at as "joinedAt"
    from organization_members m join users u on u.id = m.user_id
    where m.organization_id = ${ctx.id} order by m.joined_at`;
  const keys = await db`
    select ${keyColumns(db)} from api_keys k where k.account_id = ${ctx.accountId} order by k.created_at`;
  const invitations = await db`
    select ${invitationColumns(db)}
    from organization_invitations i join organizations o on o.id = i.organization_id
    where i.organization_id = ${ctx.id} order by i.created_at`;
  const payments = await db`
    select ${paymentColumns(db)} from payments p where p.account_id = ${ctx.accountId} order by p.created_at`;
  const seatCharges = await db`
    select user_id as "userId", month, amount_micros as "amountMicros", status,
           ledger_transaction_id as "ledgerTransactionId", created_at as "createdAt", paid_at as "paidAt"
    from seat_charges where organization_id = ${ctx.id} order by month, user_id`;
  const webhookEndpoints = await db`
    select ${endpointColumns(db)} from webhook_endpoints w where w.account_id = ${ctx.accountId}
    order by w.created_at, w.id`;
  const receipts = await db`
    select ${receiptColumns(db)} from receipts r where r.account_id = ${ctx.accountId} order by r.number`;
  const statements = await closedStatements(db, ctx.accountId);

  await recordAudit(db, actor, {
    action: "organization.exported",
    targetType: "organization",
    targetId: ctx.id,
  });

  const head = {
    format: "tollgate.organization-export",
    version: 1,
    exportedAt: new Date().toISOString(),
    moneyUnit: "micro-USD (1 USD = 1,000,000)",
    organization,
    members,
    keys,
    invitations,
    payments,
    seatCharges,
    webhookEndpoints,
    statements,
    receipts,
  };
  const sections: Section[] = [
    [
      "usage",
      () =>
        pages(
          BATCH,
          (after) =>
            db<Row[]>`select ${usageColumns(db)}, ${micros(db, "e.started_at")} from usage_events e
               where ${orgRows(db, "e", ctx.accountId)} ${afterTimeAndId(db, "e.started_at", "e.id", "bigint", after)}
               order by e.started_at, e.id limit ${BATCH}`,
        ),
    ],
    [
      "ledgerEntries",
      () =>
        pages(
          BATCH,
          (after) =>
            db<Row[]>`select ${ledgerColumns(db)}
               from ledger_entries le join ledger_transactions lt on lt.id = le.transaction_id
               where le.account_id = ${ctx.accountId} ${afterId(db, "le.id", after)}
               order by le.id limit ${BATCH}`,
        ),
    ],
    [
      "audit",
      () =>
        pages(
          BATCH,
          (after) =>
            db<Row[]>`select ${auditColumns(db, null)} from audit_log a
               where a.target_type = 'organization' and a.target_id = ${ctx.id}::text ${afterId(db, "a.id", after)}
               order by a.id limit ${BATCH}`,
        ),
    ],
  ];
  return { fileName: `tollgate-export-org-${ctx.slug}.json`, stream: streamOf(documentText(head, sections)) };
}
