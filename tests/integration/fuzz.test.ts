// Fuzzing every zod-validated body and query with fast-check: whatever arrives, the answer is a 4xx in the
// error contract (never a 500) and nothing is written. Bodies always carry a key no schema knows (strict
// schemas refuse it), so none of them is valid by chance; queries may be valid, and then must not fail either.
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { SIGNATURE_HEADER, signWebhook } from "@/lib/http/webhook-signature";
import { createTestDatabase } from "../helpers/db";
import { call } from "../helpers/http";
import { insertUser, signIn } from "../helpers/users";

const { sql } = await createTestDatabase();
let admin: string;
let ids: Record<string, string>;

type Handler = Parameters<typeof call>[0];
type Route = {
  name: string;
  method: "POST" | "PATCH";
  load: () => Promise<Record<string, unknown>>;
  params?: () => Record<string, string>;
};

const routes: Route[] = [
  { name: "POST /api/auth/login", method: "POST", load: () => import("@/app/api/auth/login/route") },
  { name: "POST /api/v1/users", method: "POST", load: () => import("@/app/api/v1/users/route") },
  {
    name: "PATCH /api/v1/users/:id",
    method: "PATCH",
    load: () => import("@/app/api/v1/users/[id]/route"),
    params: () => ({ id: ids.user! }),
  },
  { name: "POST /api/v1/keys", method: "POST", load: () => import("@/app/api/v1/keys/route") },
  {
    name: "PATCH /api/v1/keys/:id",
    method: "PATCH",
    load: () => import("@/app/api/v1/keys/[id]/route"),
    params: () => ({ id: ids.key! }),
  },
  { name: "POST /api/v1/models", method: "POST", load: () => import("@/app/api/v1/models/route") },
  {
    name: "PATCH /api/v1/models/:id",
    method: "PATCH",
    load: () => import("@/app/api/v1/models/[id]/route"),
    params: () => ({ id: ids.model! }),
  },
  { name: "POST /api/v1/prices", method: "POST", load: () => import("@/app/api/v1/prices/route") },
  {
    name: "PATCH /api/v1/accounts/:id",
    method: "PATCH",
    load: () => import("@/app/api/v1/accounts/[id]/route"),
    params: () => ({ id: ids.account! }),
  },
  {
    name: "POST /api/v1/accounts/:id/credits",
    method: "POST",
    load: () => import("@/app/api/v1/accounts/[id]/credits/route"),
    params: () => ({ id: ids.account! }),
  },
  { name: "POST /api/v1/plans", method: "POST", load: () => import("@/app/api/v1/plans/route") },
  {
    name: "PATCH /api/v1/plans/:id",
    method: "PATCH",
    load: () => import("@/app/api/v1/plans/[id]/route"),
    params: () => ({ id: ids.plan! }),
  },
  {
    name: "POST /api/v1/redemption-batches",
    method: "POST",
    load: () => import("@/app/api/v1/redemption-batches/route"),
  },
  { name: "POST /api/v1/redeem", method: "POST", load: () => import("@/app/api/v1/redeem/route") },
  {
    name: "POST /api/v1/payments/checkout",
    method: "POST",
    load: () => import("@/app/api/v1/payments/checkout/route"),
  },
  {
    name: "PATCH /api/v1/billing-settings",
    method: "PATCH",
    load: () => import("@/app/api/v1/billing-settings/route"),
  },
  {
    name: "POST /api/v1/settlement/runs",
    method: "POST",
    load: () => import("@/app/api/v1/settlement/runs/route"),
  },
  {
    name: "POST /api/v1/playground/chat",
    method: "POST",
    load: () => import("@/app/api/v1/playground/chat/route"),
  },
  {
    name: "POST /api/v1/alerts/rules",
    method: "POST",
    load: () => import("@/app/api/v1/alerts/rules/route"),
  },
  {
    name: "PATCH /api/v1/alerts/settings",
    method: "PATCH",
    load: () => import("@/app/api/v1/alerts/settings/route"),
  },
  {
    name: "POST /api/v1/playground/conversations",
    method: "POST",
    load: () => import("@/app/api/v1/playground/conversations/route"),
  },
  {
    name: "PATCH /api/v1/playground/conversations/:id",
    method: "PATCH",
    load: () => import("@/app/api/v1/playground/conversations/[id]/route"),
    params: () => ({ id: ids.conversation! }),
  },
];

const queries: {
  name: string;
  load: () => Promise<Record<string, unknown>>;
  params?: () => Record<string, string>;
}[] = [
  { name: "GET /api/v1/users", load: () => import("@/app/api/v1/users/route") },
  { name: "GET /api/v1/keys", load: () => import("@/app/api/v1/keys/route") },
  { name: "GET /api/v1/accounts", load: () => import("@/app/api/v1/accounts/route") },
  { name: "GET /api/v1/audit", load: () => import("@/app/api/v1/audit/route") },
  { name: "GET /api/v1/usage", load: () => import("@/app/api/v1/usage/route") },
  { name: "GET /api/v1/models", load: () => import("@/app/api/v1/models/route") },
  { name: "GET /api/v1/analytics/usage", load: () => import("@/app/api/v1/analytics/usage/route") },
  { name: "GET /api/v1/analytics/options", load: () => import("@/app/api/v1/analytics/options/route") },
  { name: "GET /api/v1/requests", load: () => import("@/app/api/v1/requests/route") },
  { name: "GET /api/v1/requests/export", load: () => import("@/app/api/v1/requests/export/route") },
  { name: "GET /api/v1/alerts", load: () => import("@/app/api/v1/alerts/route") },
  { name: "GET /api/v1/me/analytics/usage", load: () => import("@/app/api/v1/me/analytics/usage/route") },
  { name: "GET /api/v1/me/requests", load: () => import("@/app/api/v1/me/requests/route") },
  {
    name: "GET /api/v1/playground/conversations",
    load: () => import("@/app/api/v1/playground/conversations/route"),
  },
  {
    name: "GET /api/v1/accounts/:id/ledger",
    load: () => import("@/app/api/v1/accounts/[id]/ledger/route"),
    params: () => ({ id: ids.account! }),
  },
  {
    name: "GET /api/v1/accounts/:id/usage",
    load: () => import("@/app/api/v1/accounts/[id]/usage/route"),
    params: () => ({ id: ids.account! }),
  },
  {
    name: "GET /api/v1/accounts/:id/daily",
    load: () => import("@/app/api/v1/accounts/[id]/daily/route"),
    params: () => ({ id: ids.account! }),
  },
];

beforeAll(async () => {
  await insertUser(sql, { email: "admin@example.com", role: "admin" });
  const user = await insertUser(sql, { email: "dev@example.com" });
  admin = await signIn("admin@example.com");
  const [model] = await sql<{ id: string }[]>`
    insert into models (public_name, litellm_model_group, provider, context_window, max_output_tokens)
    values ('fake-small', 'fake-small', 'fake', 1000, 100) returning id`;
  const [key] = await sql<{ id: string }[]>`
    insert into api_keys (user_id, name, prefix, key_hash) values (${user}, 'fuzz', 'tg_fuzz000', ${Buffer.from("f".repeat(32))})
    returning id`;
  const [account] = await sql<{ id: string }[]>`select id from accounts where owner_user_id = ${user}`;
  const [plan] = await sql<{ id: string }[]>`insert into plans (name) values ('Fuzz tier') returning id`;
  const adminId = (await sql<{ id: string }[]>`select id from users where email = 'admin@example.com'`)[0]!
    .id;
  const [conversation] = await sql<{ id: string }[]>`
    insert into playground_conversations (user_id, title) values (${adminId}, 'fuzz') returning id`;
  ids = {
    user,
    model: model!.id,
    key: key!.id,
    account: account!.id,
    plan: plan!.id,
    conversation: conversation!.id,
  };
});

/** Rows in every table of ours (login_attempts aside: failed sign-ins are counted on purpose). */
async function counts(): Promise<Record<string, number>> {
  const tables = await sql<{ relname: string }[]>`
    select relname from pg_class where relnamespace = 'public'::regnamespace and relkind = 'r'
      and relname not in ('login_attempts', 'schema_migrations') order by relname`;
  const out: Record<string, number> = {};
  for (const { relname } of tables) {
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from ${sql(relname)}`;
    out[relname] = row!.n;
  }
  return out;
}

// Any JSON at all, and objects that look like a request but carry a key no schema accepts.
const body = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6 }).map((o) => ({
    ...o,
    "__not-a-field": true,
  })),
  fc.record({
    name: fc.jsonValue({ maxDepth: 1 }),
    amountMicros: fc.oneof(
      fc.string(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.bigInt().map(String),
    ),
    email: fc.jsonValue({ maxDepth: 1 }),
    "__not-a-field": fc.constant(1),
  }),
);

describe("fuzzed request bodies", () => {
  for (const route of routes) {
    it(`${route.name}: a 4xx in the error contract for any invalid body, nothing written`, async () => {
      const before = await counts();
      const handler = (await route.load())[route.method] as Handler;
      await fc.assert(
        fc.asyncProperty(body, async (value) => {
          const text = JSON.stringify(value) ?? "null";
          const res = await call(handler, {
            method: route.method,
            raw: text,
            cookie: admin,
            params: route.params?.(),
          });
          // Objects of arbitrary keys are refused by the strict schemas; a non-object body likewise.
          expect(res.status, `${text} → ${JSON.stringify(res.body)}`).toBeGreaterThanOrEqual(400);
          expect(res.status, text).toBeLessThan(500);
          expect(typeof res.body.error.code).toBe("string");
          expect(typeof res.body.error.message).toBe("string");
        }),
        { numRuns: 40 },
      );
      expect(await counts()).toEqual(before);
    });
  }
});

// The gateway's side: its secret-authenticated routes, and the usage webhook with a valid signature over the fuzzed
// body (so the content itself is what is judged).
const gatewayRoutes: { name: string; load: () => Promise<Record<string, unknown>>; signed?: boolean }[] = [
  { name: "POST /api/internal/gateway/auth", load: () => import("@/app/api/internal/gateway/auth/route") },
  { name: "POST /api/internal/gateway/holds", load: () => import("@/app/api/internal/gateway/holds/route") },
  {
    name: "POST /api/internal/gateway/leases",
    load: () => import("@/app/api/internal/gateway/leases/route"),
  },
  {
    name: "POST /api/internal/gateway/leases/return",
    load: () => import("@/app/api/internal/gateway/leases/return/route"),
  },
  {
    name: "POST /api/webhooks/litellm",
    load: () => import("@/app/api/webhooks/litellm/route"),
    signed: true,
  },
];

describe("fuzzed gateway bodies", () => {
  for (const route of gatewayRoutes) {
    it(`${route.name}: a 4xx in the error contract for any invalid body, nothing written`, async () => {
      const before = await counts();
      const handler = (await route.load()).POST as Handler;
      await fc.assert(
        fc.asyncProperty(body, async (value) => {
          const text = JSON.stringify(value) ?? "null";
          const headers: Record<string, string> = route.signed
            ? { [SIGNATURE_HEADER]: signWebhook(process.env.WEBHOOK_SECRET!, text) }
            : { authorization: `Bearer ${process.env.GATEWAY_SECRET}` };
          const res = await call(handler, { method: "POST", raw: text, headers });
          expect(res.status, `${text} → ${JSON.stringify(res.body)}`).toBeGreaterThanOrEqual(400);
          expect(res.status, text).toBeLessThan(500);
          expect(typeof res.body.error.code).toBe("string");
        }),
        { numRuns: 40 },
      );
      expect(await counts()).toEqual(before);
    });
  }
});

describe("fuzzed queries", () => {
  for (const route of queries) {
    it(`${route.name}: any query string is answered, never with a 500`, async () => {
      const handler = (await route.load()).GET as Handler;
      await fc.assert(
        fc.asyncProperty(
          fc.dictionary(
            fc.constantFrom(
              "page",
              "pageSize",
              "q",
              "role",
              "status",
              "days",
              "userId",
              "live",
              "x",
              "before",
            ),
            fc.oneof(
              fc.string({ maxLength: 20 }),
              fc.integer().map(String),
              fc.constant("-1"),
              fc.constant("1e9"),
            ),
          ),
          async (query) => {
            const search = new URLSearchParams(query).toString();
            const res = await call(handler, {
              path: `/q?${search}`,
              cookie: admin,
              params: route.params?.(),
            });
            expect(res.status, `${search} → ${JSON.stringify(res.body)}`).toBeLessThan(500);
            if (res.status >= 400) expect(typeof res.body.error.code).toBe("string");
          },
        ),
        { numRuns: 40 },
      );
    });
  }
});
