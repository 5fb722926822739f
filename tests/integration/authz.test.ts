// The authorization matrix: every route under app/api × (anonymous, developer, admin) → expected status. A test
// below lists every route.ts and its methods, so a route added without a row here fails the suite.
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { creditAccount } from "@/lib/billing/ledger";
import { hashKey } from "@/lib/keys/secret";
import type { OrgRole } from "@/lib/orgs/access";
import { createTestDatabase } from "../helpers/db";
import { type CallOptions, call } from "../helpers/http";
import { insertUser, signIn } from "../helpers/users";

// The scrape token is set so /api/metrics answers for what it is (a bearer check), not "metrics are off".
process.env.METRICS_TOKEN = "authz-metrics-token-0123456789";
const { sql } = await createTestDatabase();

// "other" is another developer, reaching for the first developer's resources: never visible (404), never changed.
type Who = "anonymous" | "developer" | "other" | "admin";
let cookies: Record<Who, string | undefined>;
let devSessionIds: string[];
let runId: string;
let deadJobId: string;
let developerId: string;
let adminId: string;
let devKeyId: string;
let rotateKeyIds: string[];
let modelId: string;
let devAccountId: string;
let planId: string;
let alertRuleIds: string[];
let conversationIds: string[];
let batchId: string;

beforeAll(async () => {
  adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
  developerId = await insertUser(sql, { email: "dev@example.com" });
  await insertUser(sql, { email: "other-dev@example.com" });
  cookies = {
    anonymous: undefined,
    developer: await signIn("dev@example.com"),
    other: await signIn("other-dev@example.com"),
    admin: await signIn("admin@example.com"),
  };
  // Extra sessions of the developer, one per caller of DELETE /api/v1/me/sessions/:id.
  for (let i = 0; i < 4; i++) await signIn("dev@example.com");
  const cookieHashes = await sql<{ id: string }[]>`
    select s.id from sessions s join users u on u.id = s.user_id
    where u.email = 'dev@example.com' order by s.created_at desc limit 4`;
  devSessionIds = cookieHashes.map((r) => r.id);
  const [run] = await sql<{ id: string }[]>`
    insert into settlement_runs (day, trigger, status, finished_at) values ('2026-01-01', 'manual', 'completed', now())
    returning id`;
  runId = run!.id;
  const [job] = await sql<{ id: string }[]>`
    insert into queue_jobs (name, state, attempts, max_attempts, completed_at, last_error)
    values ('settlement.chunk', 'dead', 5, 5, now(), 'matrix') returning id::text`;
  deadJobId = job!.id;
  const [model] = await sql<{ id: string }[]>`
    insert into models (public_name, litellm_model_group, provider, context_window, max_output_tokens)
    values ('fake-small', 'fake-small', 'fake', 1000, 100) returning id`;
  modelId = model!.id;
  const insertKey = async (name: string) => {
    const [row] = await sql<{ id: string }[]>`
      insert into api_keys (user_id, name, prefix, key_hash)
      values (${developerId}, ${name}, 'tg_xxxxxxxx', ${Buffer.from(name.padEnd(32, "x"))}) returning id`;
    return row!.id;
  };
  devKeyId = await insertKey("dev key");
  const [account] = await sql<{ id: string }[]>`select id from accounts where owner_user_id = ${developerId}`;
  devAccountId = account!.id;
  // Rotation revokes its key: one fresh key per (role) call.
  rotateKeyIds = [
    await insertKey("rotate a"),
    await insertKey("rotate b"),
    await insertKey("rotate c"),
    await insertKey("rotate d"),
  ];
  const [p] = await sql<{ id: string }[]>`insert into plans (name) values ('Authz tier') returning id`;
  planId = p!.id;
  const rules = await sql<{ id: string }[]>`
    insert into alert_rules (name, scope, metric, warn_threshold)
    values ('authz patch', 'platform', 'spend_rate', 100), ('authz delete', 'platform', 'spend_rate', 100)
    returning id`;
  alertRuleIds = rules.map((r) => r.id);
  const saved = await sql<{ id: string }[]>`
    insert into playground_conversations (user_id, title) values (${developerId}, 'read'), (${developerId}, 'patch'),
      (${developerId}, 'delete') returning id`;
  conversationIds = saved.map((r) => r.id);
  const [batch] = await sql<{ id: string }[]>`
    insert into redemption_batches (amount_micros, code_count, created_by) values (1000, 1, ${adminId}) returning id`;
  batchId = batch!.id;
});

const users = () => import("@/app/api/v1/users/route");
const user = () => import("@/app/api/v1/users/[id]/route");
const me = () => import("@/app/api/v1/me/route");
const sessions = () => import("@/app/api/v1/me/sessions/route");
const audit = () => import("@/app/api/v1/audit/route");
const health = () => import("@/app/api/health/route");
const logout = () => import("@/app/api/auth/logout/route");
const keys = () => import("@/app/api/v1/keys/route");
const key = () => import("@/app/api/v1/keys/[id]/route");
const rotate = () => import("@/app/api/v1/keys/[id]/rotate/route");
const models = () => import("@/app/api/v1/models/route");
const model = () => import("@/app/api/v1/models/[id]/route");
const gatewayAuth = () => import("@/app/api/internal/gateway/auth/route");
const gatewayHolds = () => import("@/app/api/internal/gateway/holds/route");
const gatewayLeases = () => import("@/app/api/internal/gateway/leases/route");
const gatewayLeaseReturn = () => import("@/app/api/internal/gateway/leases/return/route");
const webhook = () => import("@/app/api/webhooks/litellm/route");
const myAccount = () => import("@/app/api/v1/account/route");
const accounts = () => import("@/app/api/v1/accounts/route");
const account = () => import("@/app/api/v1/accounts/[id]/route");
const ledger = () => import("@/app/api/v1/accounts/[id]/ledger/route");
const accountLeases = () => import("@/app/api/v1/accounts/[id]/leases/route");
const usage = () => import("@/app/api/v1/accounts/[id]/usage/route");
const daily = () => import("@/app/api/v1/accounts/[id]/daily/route");
const credits = () => import("@/app/api/v1/accounts/[id]/credits/route");
const prices = () => import("@/app/api/v1/prices/route");
const playground = () => import("@/app/api/v1/playground/chat/route");
const runs = () => import("@/app/api/v1/settlement/runs/route");
const queue = () => import("@/app/api/v1/settlement/queue/route");
const cronSettle = () => import("@/app/api/cron/settle/route");
const cronDrain = () => import("@/app/api/cron/drain/route");
const platformUsage = () => import("@/app/api/v1/usage/route");
const plans = () => import("@/app/api/v1/plans/route");
const sessionRoute = () => import("@/app/api/v1/me/sessions/[id]/route");
const runRoute = () => import("@/app/api/v1/settlement/runs/[id]/route");
const retryRoute = () => import("@/app/api/v1/settlement/queue/[id]/retry/route");
const plan = () => import("@/app/api/v1/plans/[id]/route");
const routingRoute = () => import("@/app/api/v1/routing/route");
const virtualModelRoute = () => import("@/app/api/v1/routing/[id]/route");
const modelHealthRoute = () => import("@/app/api/v1/model-health/route");
const gatewayRouting = () => import("@/app/api/internal/gateway/routing/route");
const cronGrants = () => import("@/app/api/cron/grants/route");
const redemptionBatches = () => import("@/app/api/v1/redemption-batches/route");
const redemptionsRoute = () => import("@/app/api/v1/redemption-batches/[id]/redemptions/route");
const loginRoute = () => import("@/app/api/auth/login/route");
const invitationSignupRoute = () => import("@/app/api/auth/invitations/[token]/signup/route");
const metricsRoute = () => import("@/app/api/metrics/route");
const stripeWebhook = () => import("@/app/api/webhooks/stripe/route");
const redeemRoute = () => import("@/app/api/v1/redeem/route");
const paymentsRoute = () => import("@/app/api/v1/payments/route");
const myPaymentsRoute = () => import("@/app/api/v1/me/payments/route");
const checkoutRoute = () => import("@/app/api/v1/payments/checkout/route");
const billingSettings = () => import("@/app/api/v1/billing-settings/route");
const myStatementsRoute = () => import("@/app/api/v1/account/statements/route");
const myStatementRoute = () => import("@/app/api/v1/account/statements/[month]/route");
const myPolicyRoute = () => import("@/app/api/v1/account/policy/route");
const orgPolicyRoute = () => import("@/app/api/v1/orgs/[org]/policy/route");
const accountStatementsRoute = () => import("@/app/api/v1/accounts/[id]/statements/route");
const accountStatementRoute = () => import("@/app/api/v1/accounts/[id]/statements/[month]/route");
const operatorSettingsRoute = () => import("@/app/api/v1/operator-settings/route");
const retentionRoute = () => import("@/app/api/v1/retention/route");
const retentionRunRoute = () => import("@/app/api/v1/retention/run/route");
const orgRetentionRoute = () => import("@/app/api/v1/orgs/[org]/retention/route");
const cronRetention = () => import("@/app/api/cron/retention/route");
const receiptRoute = () => import("@/app/api/v1/receipts/[number]/route");
const orgStatementsRoute = () => import("@/app/api/v1/orgs/[org]/statements/route");
const orgStatementRoute = () => import("@/app/api/v1/orgs/[org]/statements/[month]/route");
const overviewRoute = () => import("@/app/api/v1/analytics/overview/route");
const analyticsRoute = () => import("@/app/api/v1/analytics/usage/route");
const optionsRoute = () => import("@/app/api/v1/analytics/options/route");
const requestsRoute = () => import("@/app/api/v1/requests/route");
const requestRoute = () => import("@/app/api/v1/requests/[id]/route");
const exportRoute = () => import("@/app/api/v1/requests/export/route");
const alertsRoute = () => import("@/app/api/v1/alerts/route");
const alertRulesRoute = () => import("@/app/api/v1/alerts/rules/route");
const alertRuleRoute = () => import("@/app/api/v1/alerts/rules/[id]/route");
const alertSettingsRoute = () => import("@/app/api/v1/alerts/settings/route");
const keySelfRoute = () => import("@/app/api/v1/key/route");
const myAnalyticsRoute = () => import("@/app/api/v1/me/analytics/usage/route");
const cacheAnalyticsRoute = () => import("@/app/api/v1/analytics/cache/route");
const myCacheAnalyticsRoute = () => import("@/app/api/v1/me/analytics/cache/route");
const byokAnalyticsRoute = () => import("@/app/api/v1/analytics/byok/route");
const myByokAnalyticsRoute = () => import("@/app/api/v1/me/analytics/byok/route");
const myOptionsRoute = () => import("@/app/api/v1/me/analytics/options/route");
const myRequestsRoute = () => import("@/app/api/v1/me/requests/route");
const myRequestRoute = () => import("@/app/api/v1/me/requests/[id]/route");
const myExportRoute = () => import("@/app/api/v1/me/requests/export/route");
const myKeysRoute = () => import("@/app/api/v1/me/keys/route");
const passwordRoute = () => import("@/app/api/v1/me/password/route");
const searchRoute = () => import("@/app/api/v1/search/route");
const conversationsRoute = () => import("@/app/api/v1/playground/conversations/route");
const conversationRoute = () => import("@/app/api/v1/playground/conversations/[id]/route");
const playgroundCallRoute = () => import("@/app/api/v1/playground/calls/[callId]/route");
const playgroundModelsRoute = () => import("@/app/api/v1/playground/models/route");
const keyUsageRoute = () => import("@/app/api/v1/key/usage/route");
const orgsRoute = () => import("@/app/api/v1/orgs/route");
const orgRoute = () => import("@/app/api/v1/orgs/[org]/route");
const orgMembersRoute = () => import("@/app/api/v1/orgs/[org]/members/route");
const orgMemberRoute = () => import("@/app/api/v1/orgs/[org]/members/[userId]/route");
const orgTransferRoute = () => import("@/app/api/v1/orgs/[org]/transfer/route");
const orgInvitationsRoute = () => import("@/app/api/v1/orgs/[org]/invitations/route");
const orgInvitationRoute = () => import("@/app/api/v1/orgs/[org]/invitations/[id]/route");
const orgKeysRoute = () => import("@/app/api/v1/orgs/[org]/keys/route");
const orgCheckoutRoute = () => import("@/app/api/v1/orgs/[org]/checkout/route");
const orgRedeemRoute = () => import("@/app/api/v1/orgs/[org]/redeem/route");
const orgSeatsRoute = () => import("@/app/api/v1/orgs/[org]/seats/route");
const invitationRoute = () => import("@/app/api/v1/invitations/[token]/route");
const userExportRoute = () => import("@/app/api/v1/users/[id]/export/route");
const userEraseRoute = () => import("@/app/api/v1/users/[id]/erase/route");
const meExportRoute = () => import("@/app/api/v1/me/export/route");
const orgExportRoute = () => import("@/app/api/v1/orgs/[org]/export/route");
const acceptRoute = () => import("@/app/api/v1/invitations/[token]/accept/route");

// Customer webhooks (issue 28): the developer's own endpoint (another developer: 404), one per caller of DELETE.
const webhooksRoute = () => import("@/app/api/v1/webhooks/route");
const webhookRoute = () => import("@/app/api/v1/webhooks/[id]/route");
const webhookRotateRoute = () => import("@/app/api/v1/webhooks/[id]/rotate/route");
const webhookDeliveriesRoute = () => import("@/app/api/v1/webhooks/[id]/deliveries/route");
const webhookResendRoute = () => import("@/app/api/v1/webhooks/[id]/deliveries/[deliveryId]/resend/route");
const webhookReplayRoute = () => import("@/app/api/v1/webhooks/[id]/replay/route");
let webhookId: string;
let webhookDeleteIds: string[];
let webhookDeliveryId: string;
beforeAll(async () => {
  const { sealSecret } = await import("@/lib/webhooks/secret");
  const endpoints = await sql<{ id: string }[]>`
    insert into webhook_endpoints (account_id, url, event_types, secret_ciphertext)
    select ${devAccountId}, 'https://hooks.example.com/' || n, '{call.charged}', ${sealSecret("whsec_authz")}
    from generate_series(1, 5) n returning id::text as id`;
  [webhookId, ...webhookDeleteIds] = endpoints.map((e) => e.id) as [string, ...string[]];
  const [event] = await sql<{ id: string }[]>`
    insert into webhook_events (account_id, type, occurred_at, payload, dedup_key)
    values (${devAccountId}, 'call.charged', now(), '{}', 'authz') returning id::text as id`;
  const [delivery] = await sql<{ id: string }[]>`
    insert into webhook_deliveries (endpoint_id, event_id, occurred_at, status)
    values (${webhookId}, ${event!.id}, now(), 'delivered') returning id::text as id`;
  webhookDeliveryId = delivery!.id;
});

// Provider keys (BYOK, issue 29): the developer's own (another developer: 404), one per caller of DELETE; the Test
// call goes to a closed local port (refused at once: a recorded error, not a refusal of the key).
const credentialsRoute = () => import("@/app/api/v1/provider-credentials/route");
const credentialRoute = () => import("@/app/api/v1/provider-credentials/[id]/route");
const credentialTestRoute = () => import("@/app/api/v1/provider-credentials/[id]/test/route");
const credentialFallbackRoute = () => import("@/app/api/v1/provider-credentials/fallback/route");
const gatewayCredentials = () => import("@/app/api/internal/gateway/credentials/route");
const allowedHostsRoute = () => import("@/app/api/v1/provider-credentials/allowed-hosts/route");
let credentialId: string;
let credentialDeleteIds: string[];
beforeAll(async () => {
  const { sealCredential } = await import("@/lib/providers/crypto");
  const rows = await sql<{ id: string }[]>`
    insert into provider_credentials (scope, key_id, provider, api_base, secret_sealed, secret_hint)
    values ('key', ${devKeyId}, 'openai_compatible', 'http://127.0.0.1:9/v1', ${sealCredential("byok-authz-test")}, 'test')
    returning id::text as id`;
  credentialId = rows[0]!.id;
  const others = [];
  for (const provider of ["openai", "anthropic", "gemini"])
    others.push(
      ...(await sql<{ id: string }[]>`
        insert into provider_credentials (scope, user_id, provider, secret_sealed, secret_hint)
        values ('member', ${developerId}, ${provider}, ${sealCredential("byok-authz")}, 'uthz')
        returning id::text as id`),
    );
  for (const provider of ["openai", "anthropic"])
    others.push(
      ...(await sql<{ id: string }[]>`
        insert into provider_credentials (scope, key_id, provider, secret_sealed, secret_hint)
        values ('key', ${devKeyId}, ${provider}, ${sealCredential("byok-authz")}, 'uthz')
        returning id::text as id`),
    );
  credentialDeleteIds = others.map((r) => r.id);
});

/** The receipt of a credit to the developer's account (every credit gets one, lib/statements). */
let devReceipt: string;
beforeAll(async () => {
  await creditAccount(
    sql,
    { userId: null, kind: "system" },
    {
      accountId: devAccountId,
      amountMicros: 1_000_000n,
      kind: "grant",
      reason: "authz",
      idempotencyKey: "authz-receipt",
    },
  );
  const [row] = await sql<{ label: string }[]>`
    select label from receipts where account_id = ${devAccountId} order by number desc limit 1`;
  devReceipt = row!.label;
});

interface Case {
  name: string;
  handler: () => Promise<Record<string, unknown>>;
  method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
  options?: () => CallOptions;
  /** Another developer gets what the developer gets, unless the route reaches the developer's own resource. */
  expect: Record<Exclude<Who, "other">, number> & { other?: number };
}

const cases: Case[] = [
  {
    name: "GET /api/health",
    handler: health,
    method: "GET",
    expect: { anonymous: 200, developer: 200, admin: 200 },
  },
  {
    name: "GET /api/v1/me",
    handler: me,
    method: "GET",
    expect: { anonymous: 401, developer: 200, admin: 200 },
  },
  {
    name: "GET /api/v1/me/sessions",
    handler: sessions,
    method: "GET",
    expect: { anonymous: 401, developer: 200, admin: 200 },
  },
  {
    name: "GET /api/v1/users",
    handler: users,
    method: "GET",
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "POST /api/v1/users",
    handler: users,
    method: "POST",
    options: () => ({
      body: {
        email: `new-${Math.random().toString(36).slice(2)}@example.com`,
        role: "developer",
        password: "a-long-enough-password",
      },
    }),
    expect: { anonymous: 401, developer: 403, admin: 201 },
  },
  {
    name: "GET /api/v1/users/:id",
    handler: user,
    method: "GET",
    options: () => ({ params: { id: developerId } }),
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "PATCH /api/v1/users/:id",
    handler: user,
    method: "PATCH",
    options: () => ({ params: { id: developerId }, body: { name: "Renamed" } }),
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  // GDPR: admins export anyone and erase (a developer who is not a platform admin neither); everyone exports their own.
  {
    name: "GET /api/v1/users/:id/export",
    handler: userExportRoute,
    method: "GET",
    options: () => ({ params: { id: developerId } }),
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "POST /api/v1/users/:id/erase (a mistyped confirmation: nothing erased)",
    handler: userEraseRoute,
    method: "POST",
    options: () => ({ params: { id: developerId }, body: { confirmEmail: "not-them@example.com" } }),
    expect: { anonymous: 401, developer: 403, admin: 422 },
  },
  {
    name: "GET /api/v1/me/export",
    handler: meExportRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 200, admin: 200 },
  },
  {
    name: "GET /api/v1/audit",
    handler: audit,
    method: "GET",
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "POST /api/auth/login (an unknown email: a session changes nothing)",
    handler: loginRoute,
    method: "POST",
    options: () => ({ body: { email: "nobody@example.com", password: "not-the-password" } }),
    expect: { anonymous: 401, developer: 401, admin: 401 },
  },
  {
    // Public like sign-in: the link is the credential, so an unknown one is 404 whoever calls.
    name: "POST /api/auth/invitations/:token/signup (an unknown link: a session changes nothing)",
    handler: invitationSignupRoute,
    method: "POST",
    options: () => ({
      params: { token: "A".repeat(43) },
      body: { name: "Nobody", password: "a-long-enough-password" },
    }),
    expect: { anonymous: 404, developer: 404, admin: 404 },
  },
  {
    name: "GET /api/metrics (a session is not the scrape token)",
    handler: metricsRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 401, admin: 401 },
  },
  {
    name: "POST /api/auth/logout",
    handler: logout,
    method: "POST",
    expect: { anonymous: 200, developer: 200, admin: 200 },
  },
  {
    name: "GET /api/v1/keys",
    handler: keys,
    method: "GET",
    expect: { anonymous: 401, developer: 200, admin: 200 },
  },
  {
    name: "POST /api/v1/keys",
    handler: keys,
    method: "POST",
    options: () => ({ body: { name: "matrix key" } }),
    expect: { anonymous: 401, developer: 201, admin: 201 },
  },
  {
    name: "GET /api/v1/keys/:id (own key)",
    handler: key,
    method: "GET",
    options: () => ({ params: { id: devKeyId } }),
    expect: { anonymous: 401, developer: 200, admin: 200, other: 404 },
  },
  {
    name: "PATCH /api/v1/keys/:id (own key)",
    handler: key,
    method: "PATCH",
    options: () => ({ params: { id: devKeyId }, body: { rpmLimit: 100 } }),
    expect: { anonymous: 401, developer: 200, admin: 200, other: 404 },
  },
  {
    name: "POST /api/v1/keys/:id/rotate (own key)",
    handler: rotate,
    method: "POST",
    options: () => ({ params: { id: rotateKeyIds.shift()! } }),
    expect: { anonymous: 401, developer: 201, admin: 201, other: 404 },
  },
  {
    name: "GET /api/v1/provider-credentials",
    handler: credentialsRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 200, admin: 200 },
  },
  {
    name: "POST /api/v1/provider-credentials",
    handler: credentialsRoute,
    method: "POST",
    options: () => ({
      body: { provider: "azure", secret: "byok-authz-new", apiBase: "https://x.openai.azure.com" },
    }),
    expect: { anonymous: 401, developer: 201, admin: 201 },
  },
  {
    name: "DELETE /api/v1/provider-credentials/:id (own key)",
    handler: credentialRoute,
    method: "DELETE",
    options: () => ({ params: { id: credentialDeleteIds.shift()! } }),
    expect: { anonymous: 401, developer: 200, admin: 200, other: 404 },
  },
  {
    name: "POST /api/v1/provider-credentials/:id/test (own key's)",
    handler: credentialTestRoute,
    method: "POST",
    options: () => ({ params: { id: credentialId } }),
    expect: { anonymous: 401, developer: 200, admin: 200, other: 404 },
  },
  {
    name: "PUT /api/v1/provider-credentials/fallback",
    handler: credentialFallbackRoute,
    method: "PUT",
    options: () => ({ body: { allowPlatformFallback: true } }),
    expect: { anonymous: 401, developer: 200, admin: 200 },
  },
  {
    name: "GET /api/v1/provider-credentials/allowed-hosts",
    handler: allowedHostsRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "PUT /api/v1/provider-credentials/allowed-hosts",
    handler: allowedHostsRoute,
    method: "PUT",
    options: () => ({ body: { hosts: [] } }),
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "POST /api/internal/gateway/credentials (no gateway secret)",
    handler: gatewayCredentials,
    method: "POST",
    options: () => ({ body: { keyId: devKeyId } }),
    expect: { anonymous: 401, developer: 401, admin: 401 },
  },
  {
    name: "GET /api/v1/webhooks",
    handler: webhooksRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 200, admin: 200 },
  },
  {
    name: "POST /api/v1/webhooks",
    handler: webhooksRoute,
    method: "POST",
    options: () => ({ body: { url: "https://hooks.example.com/new", eventTypes: ["call.charged"] } }),
    expect: { anonymous: 401, developer: 201, admin: 201 },
  },
  {
    name: "GET /api/v1/webhooks/:id (own endpoint)",
    handler: webhookRoute,
    method: "GET",
    options: () => ({ params: { id: webhookId } }),
    expect: { anonymous: 401, developer: 200, admin: 200, other: 404 },
  },
  {
    name: "PATCH /api/v1/webhooks/:id (own endpoint)",
    handler: webhookRoute,
    method: "PATCH",
    options: () => ({ params: { id: webhookId }, body: { description: "renamed" } }),
    expect: { anonymous: 401, developer: 200, admin: 200, other: 404 },
  },
  {
    name: "DELETE /api/v1/webhooks/:id (own endpoint)",
    handler: webhookRoute,
    method: "DELETE",
    options: () => ({ params: { id: webhookDeleteIds.shift()! } }),
    expect: { anonymous: 401, developer: 200, admin: 200, other: 404 },
  },
  {
    name: "GET /api/v1/webhooks/:id/deliveries (own endpoint)",
    handler: webhookDeliveriesRoute,
    method: "GET",
    options: () => ({ params: { id: webhookId } }),
    expect: { anonymous: 401, developer: 200, admin: 200, other: 404 },
  },
  {
    name: "POST /api/v1/webhooks/:id/deliveries/:deliveryId/resend (own endpoint)",
    handler: webhookResendRoute,
    method: "POST",
    options: () => ({ params: { id: webhookId, deliveryId: webhookDeliveryId } }),
    expect: { anonymous: 401, developer: 201, admin: 201, other: 404 },
  },
  {
    name: "POST /api/v1/webhooks/:id/replay (own endpoint)",
    handler: webhookReplayRoute,
    method: "POST",
    options: () => ({
      params: { id: webhookId },
      body: { from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z" },
    }),
    expect: { anonymous: 401, developer: 201, admin: 201, other: 404 },
  },
  {
    name: "POST /api/v1/webhooks/:id/rotate (own endpoint)",
    handler: webhookRotateRoute,
    method: "POST",
    options: () => ({ params: { id: webhookId } }),
    expect: { anonymous: 401, developer: 200, admin: 200, other: 404 },
  },
  {
    name: "GET /api/v1/models",
    handler: models,
    method: "GET",
    expect: { anonymous: 401, developer: 200, admin: 200 },
  },
  {
    name: "POST /api/v1/models",
    handler: models,
    method: "POST",
    options: () => {
      // A model is sold under its LiteLLM group's name; no gateway runs here, so the admin saves without its check.
      const name = `m-${Math.random().toString(36).slice(2, 8)}`;
      return {
        body: {
          publicName: name,
          litellmModelGroup: name,
          provider: "openai",
          contextWindow: 1000,
          maxOutputTokens: 100,
          skipGatewayCheck: true,
        },
      };
    },
    expect: { anonymous: 401, developer: 403, admin: 201 },
  },
  {
    name: "PATCH /api/v1/models/:id",
    handler: model,
    method: "PATCH",
    options: () => ({ params: { id: modelId }, body: { description: "changed" } }),
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "POST /api/internal/gateway/auth (no gateway secret)",
    handler: gatewayAuth,
    method: "POST",
    options: () => ({ body: { key: "tg_whatever" } }),
    expect: { anonymous: 401, developer: 401, admin: 401 },
  },
  // An app's own view of its key: only its tg_ key as bearer opens it; a session (cookie) does not.
  {
    name: "GET /api/v1/key (a session, no API key)",
    handler: keySelfRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 401, admin: 401, other: 401 },
  },
  {
    name: "GET /api/v1/key/usage (a session, no API key)",
    handler: keyUsageRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 401, admin: 401, other: 401 },
  },
  {
    name: "GET /api/v1/account",
    handler: myAccount,
    method: "GET",
    expect: { anonymous: 401, developer: 200, admin: 200 },
  },
  {
    name: "GET /api/v1/accounts",
    handler: accounts,
    method: "GET",
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "GET /api/v1/accounts/:id (developer's own)",
    handler: account,
    method: "GET",
    options: () => ({ params: { id: devAccountId } }),
    expect: { anonymous: 401, developer: 200, admin: 200, other: 404 },
  },
  {
    name: "PATCH /api/v1/accounts/:id (budgets)",
    handler: account,
    method: "PATCH",
    options: () => ({ params: { id: devAccountId }, body: { dailyBudgetMicros: 1_000_000 } }),
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "GET /api/v1/accounts/:id/ledger",
    handler: ledger,
    method: "GET",
    options: () => ({ params: { id: devAccountId } }),
    expect: { anonymous: 401, developer: 200, admin: 200, other: 404 },
  },
  {
    name: "GET /api/v1/accounts/:id/leases",
    handler: accountLeases,
    method: "GET",
    options: () => ({ params: { id: devAccountId } }),
    expect: { anonymous: 401, developer: 403, admin: 200, other: 403 },
  },
  {
    name: "GET /api/v1/accounts/:id/usage",
    handler: usage,
    method: "GET",
    options: () => ({ params: { id: devAccountId } }),
    expect: { anonymous: 401, developer: 200, admin: 200, other: 404 },
  },
  {
    name: "GET /api/v1/accounts/:id/daily",
    handler: daily,
    method: "GET",
    options: () => ({ params: { id: devAccountId } }),
    expect: { anonymous: 401, developer: 200, admin: 200, other: 404 },
  },
  {
    name: "POST /api/v1/accounts/:id/credits",
    handler: credits,
    method: "POST",
    options: () => ({
      params: { id: devAccountId },
      body: {
        amountMicros: 1_000_000,
        kind: "grant",
        reason: "matrix",
        idempotencyKey: `matrix-${Math.random()}`,
      },
    }),
    expect: { anonymous: 401, developer: 403, admin: 201 },
  },
  {
    name: "GET /api/v1/prices",
    handler: prices,
    method: "GET",
    expect: { anonymous: 401, developer: 200, admin: 200 },
  },
  {
    name: "POST /api/v1/prices",
    handler: prices,
    method: "POST",
    options: () => ({
      body: {
        modelId,
        effectiveFrom: new Date(Date.now() + Math.floor(Math.random() * 1e9) + 60_000).toISOString(),
        inputCostMicros: 1,
        outputCostMicros: 1,
        inputPriceMicros: 2,
        outputPriceMicros: 2,
      },
    }),
    expect: { anonymous: 401, developer: 403, admin: 201 },
  },
  {
    // The playground uses its own managed key: a key in the body is refused like any unknown field.
    name: "POST /api/v1/playground/chat (a key of the caller's choosing)",
    handler: playground,
    method: "POST",
    options: () => ({
      body: {
        messages: [{ role: "user", parts: [{ type: "text", text: "hi" }] }],
        model: "fake-small",
        apiKey: "tg_nope_nope_nope_nope_nope",
      },
    }),
    expect: { anonymous: 401, developer: 422, admin: 422 },
  },
  {
    name: "POST /api/internal/gateway/leases (no gateway secret)",
    handler: gatewayLeases,
    method: "POST",
    options: () => ({
      body: {
        leaseId: "8d3c1f0e-3c4b-4c8f-9a51-6f1f8a9e2b10",
        keyId: devKeyId,
        processId: "p",
        nonce: "n",
        wantMicros: 1000,
        minMicros: 1,
      },
    }),
    expect: { anonymous: 401, developer: 401, admin: 401 },
  },
  {
    name: "POST /api/internal/gateway/leases/return (no gateway secret)",
    handler: gatewayLeaseReturn,
    method: "POST",
    options: () => ({
      body: { leaseId: "8d3c1f0e-3c4b-4c8f-9a51-6f1f8a9e2b10", keyId: devKeyId, unusedMicros: 0 },
    }),
    expect: { anonymous: 401, developer: 401, admin: 401 },
  },
  {
    name: "POST /api/internal/gateway/holds (no gateway secret)",
    handler: gatewayHolds,
    method: "POST",
    options: () => ({
      body: {
        keyId: devKeyId,
        callId: "c",
        nonce: "n",
        model: "fake-small",
        promptTokens: 1,
        maxOutputTokens: 1,
      },
    }),
    expect: { anonymous: 401, developer: 401, admin: 401 },
  },
  {
    name: "POST /api/webhooks/litellm (unsigned)",
    handler: webhook,
    method: "POST",
    options: () => ({ body: { events: [] } }),
    expect: { anonymous: 401, developer: 401, admin: 401 },
  },
  {
    name: "POST /api/webhooks/stripe (card top-ups off: its signature is tested in payments.test.ts)",
    handler: stripeWebhook,
    method: "POST",
    options: () => ({ body: { type: "checkout.session.completed" } }),
    expect: { anonymous: 404, developer: 404, admin: 404 },
  },
  {
    name: "GET /api/v1/settlement/runs",
    handler: runs,
    method: "GET",
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "POST /api/v1/settlement/runs",
    handler: runs,
    method: "POST",
    options: () => ({ body: { day: "2026-01-02" } }),
    expect: { anonymous: 401, developer: 403, admin: 201 },
  },
  {
    name: "GET /api/v1/settlement/queue",
    handler: queue,
    method: "GET",
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "GET /api/cron/settle (no cron secret)",
    handler: cronSettle,
    method: "GET",
    expect: { anonymous: 401, developer: 401, admin: 401 },
  },
  {
    name: "GET /api/cron/drain (no cron secret)",
    handler: cronDrain,
    method: "GET",
    expect: { anonymous: 401, developer: 401, admin: 401 },
  },
  // Routing (issue 29): admins define virtual models and read model health; the gateway reads the definitions.
  {
    name: "GET /api/v1/routing",
    handler: routingRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "POST /api/v1/routing",
    handler: routingRoute,
    method: "POST",
    options: () => ({
      body: {
        name: `auto:${Math.random().toString(36).slice(2)}`,
        strategy: "quality",
        candidates: [{ model: "fake-small", quality: 50 }],
      },
    }),
    expect: { anonymous: 401, developer: 403, admin: 201 },
  },
  {
    name: "PATCH /api/v1/routing/:id (no such virtual model)",
    handler: virtualModelRoute,
    method: "PATCH",
    options: () => ({ params: { id: "00000000-0000-4000-8000-000000000029" }, body: { enabled: false } }),
    expect: { anonymous: 401, developer: 403, admin: 404 },
  },
  {
    name: "GET /api/v1/model-health",
    handler: modelHealthRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "GET /api/internal/gateway/routing (no gateway secret)",
    handler: gatewayRouting,
    method: "GET",
    expect: { anonymous: 401, developer: 401, admin: 401 },
  },
  {
    name: "GET /api/v1/plans",
    handler: plans,
    method: "GET",
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "POST /api/v1/plans",
    handler: plans,
    method: "POST",
    options: () => ({ body: { name: `Tier ${Math.random().toString(36).slice(2)}`, requestsPerDay: 5 } }),
    expect: { anonymous: 401, developer: 403, admin: 201 },
  },
  {
    name: "PATCH /api/v1/plans/:id",
    handler: plan,
    method: "PATCH",
    options: () => ({ params: { id: planId }, body: { requestsPerDay: 7 } }),
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "GET /api/v1/redemption-batches",
    handler: redemptionBatches,
    method: "GET",
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "POST /api/v1/redemption-batches",
    handler: redemptionBatches,
    method: "POST",
    options: () => ({ body: { amountMicros: "1000", count: 1 } }),
    expect: { anonymous: 401, developer: 403, admin: 201 },
  },
  {
    name: "GET /api/v1/redemption-batches/:id/redemptions",
    handler: redemptionsRoute,
    method: "GET",
    options: () => ({ params: { id: batchId } }),
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "POST /api/v1/redeem (an unknown code)",
    handler: redeemRoute,
    method: "POST",
    options: () => ({ body: { code: "TG-0000-0000-0000-0000" } }),
    expect: { anonymous: 401, developer: 422, admin: 422 },
  },
  {
    name: "GET /api/v1/payments",
    handler: paymentsRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "GET /api/v1/me/payments",
    handler: myPaymentsRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 200, admin: 200 },
  },
  {
    name: "POST /api/v1/payments/checkout (card top-ups off here)",
    handler: checkoutRoute,
    method: "POST",
    options: () => ({ body: { amountMicros: "10000000" } }),
    expect: { anonymous: 401, developer: 503, admin: 503 },
  },
  {
    name: "GET /api/v1/billing-settings",
    handler: billingSettings,
    method: "GET",
    expect: { anonymous: 401, developer: 200, admin: 200 },
  },
  {
    name: "PATCH /api/v1/billing-settings",
    handler: billingSettings,
    method: "PATCH",
    options: () => ({ body: { lowBalanceMicros: "2000000" } }),
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "GET /api/v1/account/policy",
    handler: myPolicyRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 200, admin: 200 },
  },
  {
    name: "PATCH /api/v1/account/policy",
    handler: myPolicyRoute,
    method: "PATCH",
    options: () => ({ body: { pii: { email: "mask" } } }),
    expect: { anonymous: 401, developer: 200, admin: 200 },
  },
  {
    name: "GET /api/v1/account/statements",
    handler: myStatementsRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 200, admin: 200 },
  },
  {
    name: "GET /api/v1/account/statements/:month",
    handler: myStatementRoute,
    method: "GET",
    options: () => ({ params: { month: "2026-01" } }),
    expect: { anonymous: 401, developer: 200, admin: 200 },
  },
  {
    name: "GET /api/v1/accounts/:id/statements (developer's own)",
    handler: accountStatementsRoute,
    method: "GET",
    options: () => ({ params: { id: devAccountId } }),
    expect: { anonymous: 401, developer: 200, admin: 200, other: 404 },
  },
  {
    name: "GET /api/v1/accounts/:id/statements/:month (developer's own)",
    handler: accountStatementRoute,
    method: "GET",
    options: () => ({ params: { id: devAccountId, month: "2026-01" } }),
    expect: { anonymous: 401, developer: 200, admin: 200, other: 404 },
  },
  {
    name: "GET /api/v1/receipts/:number (the developer's)",
    handler: receiptRoute,
    method: "GET",
    options: () => ({ params: { number: devReceipt } }),
    expect: { anonymous: 401, developer: 200, admin: 200, other: 404 },
  },
  {
    name: "GET /api/v1/operator-settings",
    handler: operatorSettingsRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "PATCH /api/v1/operator-settings",
    handler: operatorSettingsRoute,
    method: "PATCH",
    options: () => ({ body: { legalName: "Tollgate Ltd", address: "1 Main St\nTown" } }),
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "GET /api/v1/retention",
    handler: retentionRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "PATCH /api/v1/retention",
    handler: retentionRoute,
    method: "PATCH",
    options: () => ({ body: { playgroundDays: 30 } }),
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "POST /api/v1/retention/run",
    handler: retentionRunRoute,
    method: "POST",
    options: () => ({ body: {} }),
    expect: { anonymous: 401, developer: 403, admin: 201 },
  },
  {
    name: "GET /api/cron/retention (no cron secret)",
    handler: cronRetention,
    method: "GET",
    expect: { anonymous: 401, developer: 401, admin: 401 },
  },
  {
    name: "GET /api/cron/grants (no cron secret)",
    handler: cronGrants,
    method: "GET",
    expect: { anonymous: 401, developer: 401, admin: 401 },
  },
  {
    name: "DELETE /api/v1/me/sessions/:id (the developer's other session)",
    handler: sessionRoute,
    method: "DELETE",
    options: () => ({ params: { id: devSessionIds.shift()! } }),
    expect: { anonymous: 401, developer: 200, other: 404, admin: 404 },
  },
  {
    name: "GET /api/v1/settlement/runs/:id",
    handler: runRoute,
    method: "GET",
    options: () => ({ params: { id: runId } }),
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "POST /api/v1/settlement/queue/:id/retry",
    handler: retryRoute,
    method: "POST",
    options: () => ({ params: { id: deadJobId } }),
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "GET /api/v1/usage",
    handler: platformUsage,
    method: "GET",
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "DELETE /api/v1/keys/:id (own key)",
    handler: key,
    method: "DELETE",
    options: () => ({ params: { id: devKeyId } }),
    expect: { anonymous: 401, developer: 200, admin: 200, other: 404 },
  },
  // The admin dashboard: analytics, the request log and its export, alerts. Developers never reach them.
  {
    name: "GET /api/v1/analytics/overview",
    handler: overviewRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "GET /api/v1/analytics/usage",
    handler: analyticsRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "GET /api/v1/analytics/cache",
    handler: cacheAnalyticsRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "GET /api/v1/analytics/byok",
    handler: byokAnalyticsRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "GET /api/v1/analytics/options",
    handler: optionsRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "GET /api/v1/requests",
    handler: requestsRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "GET /api/v1/requests/:id (no such call)",
    handler: requestRoute,
    method: "GET",
    options: () => ({ params: { id: "1" } }),
    expect: { anonymous: 401, developer: 403, admin: 404 },
  },
  {
    name: "GET /api/v1/requests/export",
    handler: exportRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  // One's own analytics and request log, whatever the role (scoped to their calls; provider cost for admins only).
  {
    name: "GET /api/v1/me/analytics/usage",
    handler: myAnalyticsRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 200, admin: 200 },
  },
  {
    name: "GET /api/v1/me/analytics/cache",
    handler: myCacheAnalyticsRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 200, admin: 200 },
  },
  {
    name: "GET /api/v1/me/analytics/byok",
    handler: myByokAnalyticsRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 200, admin: 200 },
  },
  {
    name: "GET /api/v1/me/analytics/options",
    handler: myOptionsRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 200, admin: 200 },
  },
  {
    name: "GET /api/v1/me/requests",
    handler: myRequestsRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 200, admin: 200 },
  },
  {
    name: "GET /api/v1/me/requests/:id (no such call of theirs)",
    handler: myRequestRoute,
    method: "GET",
    options: () => ({ params: { id: "1" } }),
    expect: { anonymous: 401, developer: 404, admin: 404 },
  },
  {
    name: "GET /api/v1/me/requests/export",
    handler: myExportRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 200, admin: 200 },
  },
  // "My API keys": one's own keys, whatever the role.
  {
    name: "GET /api/v1/me/keys",
    handler: myKeysRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 200, admin: 200 },
  },
  // Password change: the caller's own password only (a wrong current password changes nothing).
  {
    name: "POST /api/v1/me/password (a wrong current password)",
    handler: passwordRoute,
    method: "POST",
    options: () => ({ body: { currentPassword: "not-the-password-1", newPassword: "a-new-passphrase-42" } }),
    expect: { anonymous: 401, developer: 403, admin: 403 },
  },
  // The command palette's search: what the caller may see.
  {
    name: "GET /api/v1/search",
    handler: searchRoute,
    method: "GET",
    options: () => ({ path: "/api/v1/search?q=dev" }),
    expect: { anonymous: 401, developer: 200, admin: 200 },
  },
  // Saved playground conversations: one's own only.
  {
    name: "GET /api/v1/playground/conversations",
    handler: conversationsRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 200, admin: 200 },
  },
  {
    name: "POST /api/v1/playground/conversations",
    handler: conversationsRoute,
    method: "POST",
    options: () => ({
      body: {
        title: "matrix",
        settings: { model: "fake-small", system: "", temperature: "1", topP: "1", maxTokens: "16" },
      },
    }),
    expect: { anonymous: 401, developer: 201, admin: 201 },
  },
  {
    name: "GET /api/v1/playground/conversations/:id (the developer's)",
    handler: conversationRoute,
    method: "GET",
    options: () => ({ params: { id: conversationIds[0]! } }),
    expect: { anonymous: 401, developer: 200, admin: 404, other: 404 },
  },
  {
    name: "PATCH /api/v1/playground/conversations/:id (the developer's)",
    handler: conversationRoute,
    method: "PATCH",
    options: () => ({ params: { id: conversationIds[1]! }, body: { title: "renamed" } }),
    expect: { anonymous: 401, developer: 200, admin: 404, other: 404 },
  },
  {
    name: "DELETE /api/v1/playground/conversations/:id (the developer's)",
    handler: conversationRoute,
    method: "DELETE",
    options: () => ({ params: { id: conversationIds[2]! } }),
    expect: { anonymous: 401, developer: 204, admin: 404, other: 404 },
  },
  {
    name: "GET /api/v1/playground/models",
    handler: playgroundModelsRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 200, admin: 200 },
  },
  {
    // Pending (202, no call) reads the same as none of theirs: nothing about another user's call is revealed.
    name: "GET /api/v1/playground/calls/:callId (none of theirs)",
    handler: playgroundCallRoute,
    method: "GET",
    options: () => ({ params: { callId: "no-such-call" } }),
    expect: { anonymous: 401, developer: 202, admin: 202 },
  },
  {
    name: "GET /api/v1/alerts",
    handler: alertsRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "GET /api/v1/alerts/rules",
    handler: alertRulesRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "POST /api/v1/alerts/rules",
    handler: alertRulesRoute,
    method: "POST",
    options: () => ({
      body: { name: "matrix", scope: "platform", metric: "error_rate", warnThreshold: 500 },
    }),
    expect: { anonymous: 401, developer: 403, admin: 201 },
  },
  {
    name: "PATCH /api/v1/alerts/rules/:id",
    handler: alertRuleRoute,
    method: "PATCH",
    options: () => ({ params: { id: alertRuleIds[0]! }, body: { windowMinutes: 30 } }),
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "DELETE /api/v1/alerts/rules/:id",
    handler: alertRuleRoute,
    method: "DELETE",
    options: () => ({ params: { id: alertRuleIds[1]! } }),
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "GET /api/v1/alerts/settings",
    handler: alertSettingsRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  {
    name: "PATCH /api/v1/alerts/settings",
    handler: alertSettingsRoute,
    method: "PATCH",
    options: () => ({ body: { webhookUrl: "http://127.0.0.1:9/alerts" } }),
    expect: { anonymous: 401, developer: 403, admin: 200 },
  },
  // Organizations (issue 25): one's own list and creating one; the organization's own routes are in orgCases below.
  {
    name: "GET /api/v1/orgs",
    handler: orgsRoute,
    method: "GET",
    expect: { anonymous: 401, developer: 200, admin: 200 },
  },
  {
    name: "POST /api/v1/orgs",
    handler: orgsRoute,
    method: "POST",
    options: () => ({ body: { name: "Matrix org" } }),
    expect: { anonymous: 401, developer: 201, admin: 201 },
  },
  {
    // Holding the link is what shows an invitation, to whoever is signed in.
    name: "GET /api/v1/invitations/:token",
    handler: invitationRoute,
    method: "GET",
    options: () => ({ params: { token: readInvitationToken } }),
    expect: { anonymous: 401, developer: 200, admin: 200 },
  },
  {
    // An invitation for dev@example.com: only that user accepts it (403 to anyone else, nothing written).
    name: "POST /api/v1/invitations/:token/accept (the developer's invitation)",
    handler: acceptRoute,
    method: "POST",
    options: () => ({ params: { token: acceptTokens.shift()! } }),
    expect: { anonymous: 401, developer: 201, other: 403, admin: 403 },
  }, // Sign out everywhere ends the caller's own sessions, this one included; last, and the
  // caller signs in again after it.
  {
    name: "DELETE /api/v1/me/sessions (sign out everywhere, with a throwaway session)",
    handler: sessions,
    method: "DELETE",
    expect: { anonymous: 401, developer: 200, admin: 200 },
  },
];

// --- Organizations (issue 25, ADR 0016 decision 9): every route of an organization × (anonymous, a member of
// another organization, a member whose role lacks the verb, a member whose role has it, a platform admin), each call
// against a fresh organization whose owner, admin, member and billing member are the same four users. A refusal writes
// nothing: organizations, members, invitations, accounts, keys, the audit log and the queue read the same after it.

const ORG_MEMBER_EMAILS: Record<OrgRole, string> = {
  owner: "org-owner@example.com",
  admin: "org-admin@example.com",
  member: "org-member@example.com",
  billing: "org-billing@example.com",
};
const OUTSIDER_EMAIL = "org-outsider@example.com";
const orgUserIds = {} as Record<OrgRole | "outsider", string>;
const orgCookies = {} as Record<OrgRole | "outsider", string>;
let readInvitationToken: string;
let acceptTokens: string[];

interface MatrixOrg {
  id: string;
  slug: string;
  accountId: string;
}

/** A fresh organization with the four role users as its owner, admin, member and billing member. */
async function matrixOrg(members: Partial<Record<OrgRole, string>> = orgUserIds): Promise<MatrixOrg> {
  const slug = `matrix-${randomBytes(5).toString("hex")}`;
  const [org] = await sql<
    { id: string }[]
  >`insert into organizations (name, slug) values (${slug}, ${slug}) returning id`;
  const [account] = await sql<{ id: string }[]>`
    insert into accounts (kind, organization_id) values ('team', ${org!.id}) returning id`;
  for (const [role, userId] of Object.entries(members)) {
    if (role === "outsider") continue;
    await sql`insert into organization_members (organization_id, user_id, role) values (${org!.id}, ${userId}, ${role})`;
  }
  return { id: org!.id, slug, accountId: account!.id };
}

/** A pending invitation of `email` to the organization; its token (as the email carries it). */
async function matrixInvitation(orgId: string, email: string) {
  const token = randomBytes(32).toString("base64url");
  const [row] = await sql<{ id: string }[]>`
    insert into organization_invitations (organization_id, email, role, token_hash, expires_at)
    values (${orgId}, ${email}, 'member', ${hashKey(token, process.env.KEY_PEPPER!)}, now() + interval '7 days')
    returning id`;
  return { id: row!.id, token };
}

/** A new member (role member) of the organization: a target that a removal or transfer can use up. */
async function extraMember(orgId: string) {
  const userId = await insertUser(sql, { email: `extra-${randomBytes(5).toString("hex")}@example.com` });
  await sql`insert into organization_members (organization_id, user_id, role) values (${orgId}, ${userId}, 'member')`;
  return userId;
}

beforeAll(async () => {
  for (const [role, address] of Object.entries(ORG_MEMBER_EMAILS)) {
    orgUserIds[role as OrgRole] = await insertUser(sql, { email: address });
    orgCookies[role as OrgRole] = await signIn(address);
  }
  orgUserIds.outsider = await insertUser(sql, { email: OUTSIDER_EMAIL });
  orgCookies.outsider = await signIn(OUTSIDER_EMAIL);
  // The outsider is a member (the owner) of an organization of their own, only not of the one they reach for.
  await matrixOrg({ owner: orgUserIds.outsider });
  readInvitationToken = (await matrixInvitation((await matrixOrg()).id, "someone@example.com")).token;
  acceptTokens = [];
  for (let i = 0; i < 4; i++)
    acceptTokens.push((await matrixInvitation((await matrixOrg()).id, "dev@example.com")).token);
});

/** What a refused call must leave as it was. */
async function orgFingerprint(): Promise<string> {
  const [row] = await sql<{ f: string }[]>`
    select md5(concat_ws('|',
      (select string_agg(t::text, ',' order by t.id) from organizations t),
      (select string_agg(t::text, ',' order by t.organization_id, t.user_id) from organization_members t),
      (select string_agg(t::text, ',' order by t.id) from organization_invitations t),
      (select string_agg(t::text, ',' order by t.id) from accounts t),
      (select string_agg(t::text, ',' order by t.id) from api_keys t),
      (select count(*) from audit_log)::text,
      (select count(*) from queue_jobs)::text)) as f`;
  return row!.f;
}

interface OrgCase {
  name: string;
  handler: () => Promise<Record<string, unknown>>;
  method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
  /** The request against a fresh organization (params.org is its slug unless given). */
  options?: (org: MatrixOrg) => Promise<CallOptions> | CallOptions;
  /** A role whose verb allows the call, and its status. */
  allowed: [OrgRole, number];
  /** A role whose verb does not (403); none when every role may. */
  without?: OrgRole;
  admin: number;
}

const orgCases: OrgCase[] = [
  {
    name: "GET /api/v1/orgs/:org (every role may)",
    handler: orgRoute,
    method: "GET",
    allowed: ["billing", 200],
    admin: 200,
  },
  {
    name: "GET /api/v1/orgs/:org/policy (every role may)",
    handler: orgPolicyRoute,
    method: "GET",
    allowed: ["billing", 200],
    admin: 200,
  },
  {
    name: "GET /api/v1/orgs/:org/retention (every role may)",
    handler: orgRetentionRoute,
    method: "GET",
    allowed: ["billing", 200],
    admin: 200,
  },
  {
    name: "PATCH /api/v1/orgs/:org/retention (settings)",
    handler: orgRetentionRoute,
    method: "PATCH",
    options: () => ({ body: { playgroundDays: 10 } }),
    allowed: ["admin", 200],
    without: "member",
    admin: 200,
  },
  {
    // Platform admins read it but do not change it: the organization's choice.
    name: "PATCH /api/v1/orgs/:org/policy (policies)",
    handler: orgPolicyRoute,
    method: "PATCH",
    options: () => ({ body: { responseCache: { enabled: true, ttlSeconds: 3600 }, pii: { email: "mask" } } }),
    allowed: ["admin", 200],
    without: "member",
    admin: 403,
  },
  {
    name: "PATCH /api/v1/orgs/:org (settings)",
    handler: orgRoute,
    method: "PATCH",
    options: () => ({ body: { name: "Renamed", dailyBudgetMicros: 1_000_000 } }),
    allowed: ["admin", 200],
    without: "member",
    admin: 200,
  },
  {
    name: "GET /api/v1/orgs/:org/members (every role may)",
    handler: orgMembersRoute,
    method: "GET",
    allowed: ["member", 200],
    admin: 200,
  },
  {
    name: "PATCH /api/v1/orgs/:org/members/:userId (a member's caps)",
    handler: orgMemberRoute,
    method: "PATCH",
    options: (org) => ({
      params: { org: org.slug, userId: orgUserIds.member },
      body: { dailyCapMicros: 250_000 },
    }),
    allowed: ["admin", 200],
    without: "billing",
    admin: 200,
  },
  {
    name: "DELETE /api/v1/orgs/:org/members/:userId (another member)",
    handler: orgMemberRoute,
    method: "DELETE",
    options: async (org) => ({ params: { org: org.slug, userId: await extraMember(org.id) } }),
    allowed: ["admin", 200],
    without: "member",
    admin: 200,
  },
  {
    name: "GET /api/v1/orgs/:org/export",
    handler: orgExportRoute,
    method: "GET",
    allowed: ["owner", 200],
    without: "admin",
    admin: 200,
  },
  {
    name: "POST /api/v1/orgs/:org/transfer",
    handler: orgTransferRoute,
    method: "POST",
    options: async (org) => ({ body: { userId: await extraMember(org.id) } }),
    allowed: ["owner", 200],
    without: "admin",
    admin: 200,
  },
  {
    name: "GET /api/v1/orgs/:org/invitations",
    handler: orgInvitationsRoute,
    method: "GET",
    allowed: ["admin", 200],
    without: "member",
    admin: 200,
  },
  {
    name: "POST /api/v1/orgs/:org/invitations",
    handler: orgInvitationsRoute,
    method: "POST",
    options: () => ({
      body: { email: `invitee-${randomBytes(4).toString("hex")}@example.com`, role: "member" },
    }),
    allowed: ["admin", 201],
    without: "billing",
    admin: 201,
  },
  {
    name: "DELETE /api/v1/orgs/:org/invitations/:id",
    handler: orgInvitationRoute,
    method: "DELETE",
    options: async (org) => ({
      params: { org: org.slug, id: (await matrixInvitation(org.id, "revoked@example.com")).id },
    }),
    allowed: ["owner", 200],
    without: "member",
    admin: 200,
  },
  {
    name: "GET /api/v1/orgs/:org/keys (every role may: its own keys, or every member's)",
    handler: orgKeysRoute,
    method: "GET",
    allowed: ["member", 200],
    admin: 200,
  },
  {
    // For the member themselves, or (platform admin) for that member.
    name: "POST /api/v1/orgs/:org/keys",
    handler: orgKeysRoute,
    method: "POST",
    options: () => ({ body: { name: "matrix org key", userId: orgUserIds.member } }),
    allowed: ["member", 201],
    without: "billing",
    admin: 201,
  },
  {
    name: "POST /api/v1/orgs/:org/checkout (card top-ups off here)",
    handler: orgCheckoutRoute,
    method: "POST",
    options: () => ({ body: { amountMicros: "10000000" } }),
    allowed: ["billing", 503],
    without: "admin",
    admin: 503,
  },
  {
    name: "POST /api/v1/orgs/:org/redeem (an unknown code)",
    handler: orgRedeemRoute,
    method: "POST",
    options: () => ({ body: { code: "TG-0000-0000-0000-0000" } }),
    allowed: ["owner", 422],
    without: "member",
    admin: 422,
  },
  {
    name: "GET /api/v1/orgs/:org/statements",
    handler: orgStatementsRoute,
    method: "GET",
    allowed: ["billing", 200],
    without: "member",
    admin: 200,
  },
  {
    name: "GET /api/v1/orgs/:org/statements/:month",
    handler: orgStatementRoute,
    method: "GET",
    options: (org) => ({ params: { org: org.slug, month: "2026-01" } }),
    allowed: ["admin", 200],
    without: "member",
    admin: 200,
  },
  {
    name: "GET /api/v1/orgs/:org/seats",
    handler: orgSeatsRoute,
    method: "GET",
    allowed: ["billing", 200],
    without: "member",
    admin: 200,
  },
  // The developer views that follow the organization switcher (?org=<slug>): "My …" views, so a platform admin who is
  // not a member gets 404 there (their own view), and the organization's pages instead.
  {
    name: "GET /api/v1/me/keys with ?org=:org (a billing member's list is empty: they hold no keys)",
    handler: myKeysRoute,
    method: "GET",
    options: (org) => ({ path: `/api/v1/me/keys?org=${org.slug}` }),
    allowed: ["member", 200],
    admin: 404,
  },
  {
    name: "GET /api/v1/me/requests with ?org=:org (every role may: members their own calls)",
    handler: myRequestsRoute,
    method: "GET",
    options: (org) => ({ path: `/api/v1/me/requests?org=${org.slug}` }),
    allowed: ["member", 200],
    admin: 404,
  },
  {
    name: "GET /api/v1/me/requests/export with ?org=:org",
    handler: myExportRoute,
    method: "GET",
    options: (org) => ({ path: `/api/v1/me/requests/export?org=${org.slug}` }),
    allowed: ["billing", 200],
    admin: 404,
  },
  {
    name: "GET /api/v1/me/analytics/usage with ?org=:org",
    handler: myAnalyticsRoute,
    method: "GET",
    options: (org) => ({ path: `/api/v1/me/analytics/usage?org=${org.slug}` }),
    allowed: ["owner", 200],
    admin: 404,
  },
  {
    name: "GET /api/v1/me/analytics/cache with ?org=:org",
    handler: myCacheAnalyticsRoute,
    method: "GET",
    options: (org) => ({ path: `/api/v1/me/analytics/cache?org=${org.slug}` }),
    allowed: ["owner", 200],
    admin: 404,
  },
  {
    name: "GET /api/v1/me/analytics/byok with ?org=:org",
    handler: myByokAnalyticsRoute,
    method: "GET",
    options: (org) => ({ path: `/api/v1/me/analytics/byok?org=${org.slug}` }),
    allowed: ["owner", 200],
    admin: 404,
  },
  {
    name: "GET /api/v1/playground/models with ?org=:org",
    handler: playgroundModelsRoute,
    method: "GET",
    options: (org) => ({ path: `/api/v1/playground/models?org=${org.slug}` }),
    allowed: ["member", 200],
    without: "billing",
    admin: 200,
  },
  {
    name: "GET /api/v1/playground/conversations with ?org=:org",
    handler: conversationsRoute,
    method: "GET",
    options: (org) => ({ path: `/api/v1/playground/conversations?org=${org.slug}` }),
    allowed: ["member", 200],
    without: "billing",
    admin: 200,
  },
];

const API_DIR = path.join(import.meta.dirname, "../../app/api");
const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

/** Every route.ts under app/api, by its URL as the matrix names it (a [param] folder is `:param`). */
function apiRoutes(): { url: string; file: string }[] {
  return readdirSync(API_DIR, { recursive: true, encoding: "utf8" })
    .filter((file) => path.basename(file) === "route.ts")
    .map((file) => {
      const segments = path
        .dirname(file)
        .split(path.sep)
        .filter((s) => s !== "." && !/^\(.+\)$/.test(s))
        .map((s) => s.replace(/^\[(.+)\]$/, ":$1"));
      return { url: ["/api", ...segments].join("/"), file: path.join(API_DIR, file) };
    })
    .sort((a, b) => a.url.localeCompare(b.url));
}

/** "GET /api/v1/keys/:id (own key)" → "GET /api/v1/keys/:id". */
const routeOf = (c: { name: string }) => c.name.split(" ").slice(0, 2).join(" ");

describe("the matrix covers app/api", () => {
  it("has a row for every method of every route.ts under app/api, and every row calls the route it names", async () => {
    const exported = new Map<string, unknown>();
    for (const { url, file } of apiRoutes()) {
      const mod = (await import(file)) as Record<string, unknown>;
      for (const method of METHODS)
        if (typeof mod[method] === "function") exported.set(`${method} ${url}`, mod[method]);
    }
    expect(exported.size).toBeGreaterThan(50);
    const rows = [...cases, ...orgCases];
    const covered = new Set(rows.map(routeOf));
    expect(
      [...exported.keys()].filter((route) => !covered.has(route)),
      "routes missing from the matrix",
    ).toEqual([]);
    expect(
      rows.map(routeOf).filter((route) => !exported.has(route)),
      "rows naming no route",
    ).toEqual([]);
    for (const c of rows) {
      const handler = (await c.handler())[c.method];
      expect(handler === exported.get(routeOf(c)), `${c.name} calls another route`).toBe(true);
    }
  });
});

const email = { admin: "admin@example.com", developer: "dev@example.com", other: "other-dev@example.com" };

describe("authorization matrix", () => {
  for (const c of cases) {
    for (const who of ["anonymous", "developer", "other", "admin"] as const) {
      const expected = who === "other" ? (c.expect.other ?? c.expect.developer) : c.expect[who];
      it(`${c.name} as ${who} → ${expected}`, async () => {
        const mod = await c.handler();
        const handler = mod[c.method] as Parameters<typeof call>[0];
        // Logout and sign-out-everywhere end the sessions they are called with: use a throwaway session for them.
        const cookie =
          (c.name.includes("logout") || c.name.includes("throwaway session")) && who !== "anonymous"
            ? await signIn(email[who])
            : cookies[who];
        const res = await call(handler, { method: c.method, ...c.options?.(), cookie });
        if (c.name.includes("sign out everywhere") && who !== "anonymous")
          cookies[who] = await signIn(email[who]);
        expect(res.status, JSON.stringify(res.body)).toBe(expected);
        if (res.status >= 400) {
          expect(res.body.error.code).toMatch(/^[a-z_]+$/);
          expect(typeof res.body.error.message).toBe("string");
        }
      });
    }
  }

  it("another developer reaching the developer's key or account changes nothing", async () => {
    const { PATCH } = await key();
    const res = await call(PATCH, {
      method: "PATCH",
      params: { id: rotateKeyIds[0] ?? devKeyId },
      body: { name: "hijacked" },
      cookie: cookies.other,
    });
    expect(res.status).toBe(404);
    expect(await sql`select 1 from api_keys where name = 'hijacked'`).toEqual([]);
    const { GET } = await usage();
    const peek = await call(GET, { params: { id: devAccountId }, cookie: cookies.other });
    expect(peek.status).toBe(404);
    expect(JSON.stringify(peek.body)).not.toContain("revenueMicros");
  });

  it("a developer reaching an admin route changes nothing", async () => {
    const { PATCH } = await user();
    const res = await call(PATCH, {
      method: "PATCH",
      params: { id: adminId },
      body: { role: "developer" },
      cookie: cookies.developer,
    });
    expect(res.status).toBe(403);
    const [row] = await sql`select role from users where id = ${adminId}`;
    expect(row!.role).toBe("admin");
  });
});

describe("organization authorization matrix", () => {
  const callers = ["anonymous", "outsider", "without", "allowed", "admin"] as const;
  for (const c of orgCases) {
    for (const who of callers) {
      if (who === "without" && !c.without) continue;
      const expected = { anonymous: 401, outsider: 404, without: 403, allowed: c.allowed[1], admin: c.admin }[
        who
      ];
      const label =
        {
          without: `${c.without} (without the role)`,
          allowed: `${c.allowed[0]}`,
          outsider: "a member of another organization",
        }[who as string] ?? who;
      it(`${c.name} as ${label} → ${expected}`, async () => {
        const org = await matrixOrg();
        const options = (await c.options?.(org)) ?? {};
        const cookie = {
          anonymous: undefined,
          outsider: orgCookies.outsider,
          without: c.without ? orgCookies[c.without] : undefined,
          allowed: orgCookies[c.allowed[0]],
          admin: cookies.admin,
        }[who];
        const before = await orgFingerprint();
        const mod = await c.handler();
        const res = await call(mod[c.method] as Parameters<typeof call>[0], {
          method: c.method,
          ...options,
          params: { org: org.slug, ...options.params },
          cookie,
        });
        expect(res.status, JSON.stringify(res.body)).toBe(expected);
        if (res.status >= 400) {
          expect(res.body.error.code).toMatch(/^[a-z_]+$/);
          expect(await orgFingerprint(), "a refused call wrote something").toBe(before);
        }
      });
    }
  }

  it("an accept by the wrong user writes nothing", async () => {
    const org = await matrixOrg();
    const { token } = await matrixInvitation(org.id, "dev@example.com");
    const before = await orgFingerprint();
    const { POST } = await acceptRoute();
    const res = await call(POST, { method: "POST", params: { token }, cookie: orgCookies.outsider });
    expect(res.status).toBe(403);
    expect(await orgFingerprint()).toBe(before);
  });
});
