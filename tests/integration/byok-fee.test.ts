// The BYOK fee's per-request part and BYOK in analytics (issue 29, billing contract clause 62), on real PostgreSQL:
// a call served with the owner's own provider key is charged least(full, ⌈full × bps / 10,000⌉ + request fee) of
// the owner's plan (byok_charge), at no provider cost, on the numbers for several fees, the cap by the full price
// included; the plan's byokFeeRequestMicros is money as every money field is (clause 24: bad ones 422, nothing written); the
// roll-up's byok_calls and byok_revenue_micros equal the sums over usage_events after settlement and after an
// upgrade (failure → success); the analytics' BYOK figures (admin per model, a developer's own) equal a sum
// computed here. The calls stand at fixed moments in April 2026 (a simulated clock): nothing depends on today.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { byokReport } from "@/lib/analytics/byok";
import { settleUsage } from "@/lib/billing/settle";
import { ADMIN_ACTOR, accountOf, event, insertKey, topUp } from "../helpers/billing";
import { simulatedClock } from "../helpers/clock";
import { createTestDatabase } from "../helpers/db";
import { call } from "../helpers/http";
import { priceTokens } from "../helpers/price";
import { insertUser, signIn } from "../helpers/users";

const { sql } = await createTestDatabase();
const clock = simulatedClock(sql, "2026-04-20T00:00:00Z");
const DAY1 = "2026-04-20";
const DAY2 = "2026-04-21";

const MODELS = {
  "byok-large": { input: 3_000_000n, output: 15_000_000n, inputCost: 2_000_000n, outputCost: 10_000_000n },
  "byok-small": { input: 500_000n, output: 1_500_000n, inputCost: 300_000n, outputCost: 900_000n },
} as const;
type ModelName = keyof typeof MODELS;

/** Each owner's plan: its BYOK share (bps) and per-request fee; null: no plan (5 %, no request fee). */
const OWNERS = {
  noPlan: null,
  free: { bps: 0, request: 0n },
  share: { bps: 500, request: 200n },
  odd: { bps: 333, request: 7n },
  flat: { bps: 0, request: 1_000n },
  whole: { bps: 10_000, request: 5n },
  tiny: { bps: 2_500, request: 1_000n },
} as const;
type Owner = keyof typeof OWNERS;

interface Call {
  who: Owner;
  id: string;
  model: ModelName;
  at: string;
  prompt: number;
  completion: number;
  credential: "platform" | "byok";
  status?: "success" | "failure";
  /** Reported failed first (no tokens), then its success: upgrade_usage re-prices it (clause 9). */
  failedFirst?: boolean;
}

const CALLS: Call[] = [
  {
    who: "noPlan",
    id: "n1",
    model: "byok-large",
    at: `${DAY1}T10:00:00Z`,
    prompt: 12_345,
    completion: 6_789,
    credential: "byok",
  },
  {
    who: "noPlan",
    id: "n2",
    model: "byok-large",
    at: `${DAY1}T10:01:00Z`,
    prompt: 12_345,
    completion: 6_789,
    credential: "platform",
  },
  {
    who: "free",
    id: "f1",
    model: "byok-large",
    at: `${DAY1}T10:02:00Z`,
    prompt: 2_000,
    completion: 500,
    credential: "byok",
  },
  {
    who: "share",
    id: "s1",
    model: "byok-large",
    at: `${DAY1}T10:03:00Z`,
    prompt: 12_345,
    completion: 6_789,
    credential: "byok",
  },
  {
    who: "share",
    id: "s2",
    model: "byok-small",
    at: `${DAY1}T11:30:00Z`,
    prompt: 40_000,
    completion: 9_000,
    credential: "byok",
  },
  {
    who: "share",
    id: "s3",
    model: "byok-small",
    at: `${DAY1}T11:31:00Z`,
    prompt: 300,
    completion: 100,
    credential: "platform",
  },
  {
    who: "odd",
    id: "o1",
    model: "byok-small",
    at: `${DAY1}T11:32:00Z`,
    prompt: 7_777,
    completion: 3_333,
    credential: "byok",
  },
  {
    who: "flat",
    id: "l1",
    model: "byok-large",
    at: `${DAY1}T12:00:00Z`,
    prompt: 1_000,
    completion: 200,
    credential: "byok",
  },
  // Full price 3 micro-USD: share 1 + request fee 1,000 is above it, so the call is charged its full price.
  {
    who: "tiny",
    id: "t1",
    model: "byok-large",
    at: `${DAY1}T12:01:00Z`,
    prompt: 1,
    completion: 0,
    credential: "byok",
  },
  // ⌈full × 100 %⌉ + 5 is above the full price: capped.
  {
    who: "whole",
    id: "w1",
    model: "byok-small",
    at: `${DAY2}T09:00:00Z`,
    prompt: 5_000,
    completion: 2_000,
    credential: "byok",
  },
  // A failed BYOK call is free, the request fee included.
  {
    who: "flat",
    id: "l2",
    model: "byok-large",
    at: `${DAY2}T09:01:00Z`,
    prompt: 0,
    completion: 0,
    credential: "byok",
    status: "failure",
  },
  {
    who: "odd",
    id: "o2",
    model: "byok-large",
    at: `${DAY2}T09:02:00Z`,
    prompt: 250,
    completion: 80,
    credential: "platform",
  },
  // A retried BYOK call: its failure recorded first (free), its success upgrades it to the fee.
  {
    who: "share",
    id: "s4",
    model: "byok-large",
    at: `${DAY2}T10:00:00Z`,
    prompt: 9_999,
    completion: 1_234,
    credential: "byok",
    failedFirst: true,
  },
];

const feeOf = (who: Owner) => OWNERS[who] ?? { bps: 500, request: 0n };
const fullPrice = (c: Call) =>
  c.status === "failure" ? 0n : priceTokens({ input: c.prompt, output: c.completion }, MODELS[c.model]);
/** Clause 62 restated independently: the share rounded up once, plus the request fee, at most the full price. */
const byokCharge = (full: bigint, who: Owner) => {
  const { bps, request } = feeOf(who);
  const fee = (full * BigInt(bps) + 9_999n) / 10_000n + request;
  return fee < full ? fee : full;
};
const charged = (c: Call) => (c.credential === "byok" ? byokCharge(fullPrice(c), c.who) : fullPrice(c));

let adminId: string;
let admin: string;
const users = {} as Record<Owner, { id: string; keyId: string; accountId: string; cookie: string }>;
const balancesBefore = {} as Record<Owner, bigint>;
let upgraded = 0;
let driftAfterFailure: unknown[] = [];

async function settle(c: Call, overrides: Parameters<typeof event>[2] = {}) {
  const ended = new Date(Date.parse(c.at) + 400).toISOString();
  return clock.at(ended, (db) =>
    settleUsage(db, [
      event(users[c.who].keyId, c.id, {
        modelGroup: c.model,
        providerModel: `openai/${c.model}`,
        promptTokens: c.prompt,
        completionTokens: c.completion,
        status: c.status ?? "success",
        errorClass: c.status === "failure" ? "RateLimitError" : null,
        startedAt: c.at,
        endedAt: ended,
        credential: c.credential,
        credentialId: null,
        ...overrides,
      }),
    ]),
  );
}

/** usage_hourly's BYOK columns against the sums over usage_events, per (hour, model, kind, status, billing). */
async function rollUpDrift() {
  return sql`
    with events as (
      select date_trunc('hour', e.started_at at time zone 'utc') as hour, e.model_group, e.kind, e.status,
             billing_status(e.status) as billing_status, count(*) filter (where e.credential = 'byok') as byok_calls,
             coalesce(sum(e.revenue_micros) filter (where e.credential = 'byok'), 0) as byok_revenue
      from usage_events e group by 1, 2, 3, 4, 5
    )
    select coalesce(h.hour, e.hour) as hour, coalesce(h.model_group, e.model_group) as model,
           h.byok_calls as hourly_calls, e.byok_calls as event_calls,
           h.byok_revenue_micros as hourly_revenue, e.byok_revenue as event_revenue
    from usage_hourly h full join events e
      on e.hour = h.hour and e.model_group = h.model_group and e.kind = h.kind and e.status = h.status
     and e.billing_status = h.billing_status
    where coalesce(h.byok_calls, 0) <> coalesce(e.byok_calls, 0)
       or coalesce(h.byok_revenue_micros, 0) <> coalesce(e.byok_revenue, 0)`;
}

beforeAll(async () => {
  adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
  admin = await signIn("admin@example.com");
  for (const [name, price] of Object.entries(MODELS)) {
    const [model] = await sql<{ id: string }[]>`
      insert into models (public_name, litellm_model_group, provider, context_window, max_output_tokens)
      values (${name}, ${name}, 'fake', 16384, 4096) returning id`;
    await sql`
      insert into price_versions (model_id, effective_from, input_cost_micros, output_cost_micros, input_price_micros,
                                  output_price_micros)
      values (${model!.id}, ${clock.since}, ${price.inputCost}, ${price.outputCost}, ${price.input}, ${price.output})`;
  }
  for (const [who, fee] of Object.entries(OWNERS) as [Owner, (typeof OWNERS)[Owner]][]) {
    const email = `${who.toLowerCase()}@example.com`;
    const id = await insertUser(sql, { email, role: "developer" });
    if (fee) {
      const [plan] = await sql<{ id: string }[]>`
        insert into plans (name, byok_fee_bps, byok_fee_request_micros)
        values (${`plan-${who}`}, ${fee.bps}, ${fee.request}) returning id`;
      await sql`update users set plan_id = ${plan!.id} where id = ${id}`;
    }
    const account = await accountOf(sql, id);
    await topUp(sql, adminId, account.id, 10_000_000n);
    users[who] = { id, keyId: await insertKey(sql, id), accountId: account.id, cookie: await signIn(email) };
    balancesBefore[who] = (await accountOf(sql, id)).balance_micros;
  }
  for (const c of CALLS) {
    if (c.failedFirst) {
      await settle({ ...c, status: "failure" }, { promptTokens: 0, completionTokens: 0 });
      driftAfterFailure = await rollUpDrift();
    }
    upgraded += (await settle(c)).upgraded;
  }
});

afterAll(async () => {
  await sql.end();
});

describe("byok_charge", () => {
  it("charges least(full, ⌈full × bps / 10,000⌉ + request fee) of the owner's plan, at no provider cost", async () => {
    const rows = await sql<{ call_id: string; revenue: bigint; cost: bigint; credential: string }[]>`
      -- The platform's credential is stored as null (docs/adr/0033).
      select call_id, revenue_micros as revenue, cost_micros as cost, coalesce(credential, 'platform') as credential from usage_events`;
    const byId = new Map(rows.map((r) => [r.call_id, r]));
    for (const c of CALLS) {
      const row = byId.get(c.id)!;
      expect([c.id, row.revenue, row.credential]).toEqual([c.id, charged(c), c.credential]);
      if (c.credential === "byok") expect([c.id, row.cost]).toEqual([c.id, 0n]);
    }
    // The numbers the rule gives, spelled out for the cases that matter.
    const of = (id: string) => byId.get(id)!.revenue;
    expect(of("n1")).toBe((of("n2") * 500n + 9_999n) / 10_000n); // no plan: 5 % of the platform price of the same call
    expect(of("f1")).toBe(0n);
    expect(of("s1")).toBe((of("n2") * 500n + 9_999n) / 10_000n + 200n);
    expect(of("l1")).toBe(1_000n);
    expect(of("t1")).toBe(3n); // full 3: ⌈0.75⌉ + 1,000 capped at 3
    expect(of("w1")).toBe(fullPrice(CALLS.find((c) => c.id === "w1")!));
    expect(of("l2")).toBe(0n);
    // Each owner's balance went down by exactly what their calls were charged.
    for (const who of Object.keys(OWNERS) as Owner[]) {
      const spent = CALLS.filter((c) => c.who === who).reduce((sum, c) => sum + charged(c), 0n);
      const after = (await accountOf(sql, users[who].id)).balance_micros;
      expect([who, balancesBefore[who] - after]).toEqual([who, spent]);
    }
  });

  it("charges a BYOK call upgraded from failure to success the fee, at no provider cost", async () => {
    expect(upgraded).toBe(1);
    const [row] = await sql<{ revenue: bigint; cost: bigint; status: string }[]>`
      select revenue_micros as revenue, cost_micros as cost, status from usage_events where call_id = 's4'`;
    const retried = CALLS.find((c) => c.id === "s4")!;
    expect(row).toEqual({ revenue: byokCharge(fullPrice(retried), "share"), cost: 0n, status: "success" });
    expect(row!.revenue).toBeGreaterThan(0n);
  });
});

describe("usage_hourly's BYOK columns", () => {
  it("equal the sums over usage_events after settlement and after an upgrade (failure → success)", async () => {
    expect(driftAfterFailure).toEqual([]);
    expect(await rollUpDrift()).toEqual([]);
    const [totals] = await sql<{ calls: bigint; revenue: bigint }[]>`
      select sum(byok_calls)::bigint as calls, sum(byok_revenue_micros)::bigint as revenue from usage_hourly`;
    const byok = CALLS.filter((c) => c.credential === "byok");
    expect(totals).toEqual({
      calls: BigInt(byok.length),
      revenue: byok.reduce((sum, c) => sum + charged(c), 0n),
    });
  });
});

describe("the plan's BYOK request fee", () => {
  it("is money (an integer or digits): stored, shown to the owner, and bad values refused with nothing written", async () => {
    const { POST } = await import("@/app/api/v1/plans/route");
    const { PATCH } = await import("@/app/api/v1/plans/[id]/route");
    const created = await call(POST, {
      cookie: admin,
      body: { name: "per-request", byokFeeBps: 100, byokFeeRequestMicros: 250 },
    });
    expect(created.status).toBe(201);
    expect(created.body.plan).toMatchObject({ byokFeeBps: 100, byokFeeRequestMicros: 250 });
    const defaulted = await call(POST, { cookie: admin, body: { name: "no-request-fee" } });
    expect(defaulted.body.plan.byokFeeRequestMicros).toBe(0);
    const planId = created.body.plan.id;
    const count = async () => (await sql<{ n: number }[]>`select count(*)::int as n from plans`)[0]!.n;
    const plansBefore = await count();
    // Money as clause 24 reads it: a JSON integer or a string of digits ("100" is 100 µ$), nothing else.
    for (const bad of [-1, "0x10", "1e3", 1.5, 1_000_000_001, 2 ** 53, null]) {
      const res = await call(POST, { cookie: admin, body: { name: "bad-fee", byokFeeRequestMicros: bad } });
      expect([bad, res.status, res.body.error?.code]).toEqual([bad, 422, "validation_failed"]);
      const patched = await call(PATCH, {
        cookie: admin,
        params: { id: planId },
        body: { byokFeeRequestMicros: bad },
      });
      expect([bad, patched.status]).toEqual([bad, 422]);
    }
    expect(await count()).toBe(plansBefore);
    const [stored] = await sql<
      { fee: bigint }[]
    >`select byok_fee_request_micros as fee from plans where id = ${planId}`;
    expect(stored!.fee).toBe(250n);
    // The owner's Provider keys page reads the fee of their plan.
    const owner = await insertUser(sql, { email: "keys-owner@example.com", role: "developer" });
    await sql`update users set plan_id = ${planId} where id = ${owner}`;
    const { GET } = await import("@/app/api/v1/provider-credentials/route");
    const listed = await call(GET, {
      path: "/api/v1/provider-credentials",
      cookie: await signIn("keys-owner@example.com"),
    });
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({ byokFeeBps: 100, byokFeeRequestMicros: 250 });
    // An admin's change is audited with the new fee.
    const changed = await call(PATCH, {
      cookie: admin,
      params: { id: planId },
      body: { byokFeeRequestMicros: 0 },
    });
    expect(changed.body.plan.byokFeeRequestMicros).toBe(0);
    const [audit] = await sql<{ after: { byokFeeRequestMicros: unknown } }[]>`
      select after from audit_log where action = 'plan.update' and target_id = ${planId} order by id desc limit 1`;
    expect(Number(audit!.after.byokFeeRequestMicros)).toBe(0);
    // A string of digits is money too (clause 24).
    const digits = await call(PATCH, {
      cookie: admin,
      params: { id: planId },
      body: { byokFeeRequestMicros: "100" },
    });
    expect(digits.body.plan.byokFeeRequestMicros).toBe(100);
  });
});

describe("BYOK analytics", () => {
  /** The independent sums: calls, BYOK calls and their charges per model over the calls of `calls`. */
  const expected = (calls: Call[]) => {
    const models = new Map<string, { calls: number; byokCalls: number; byokRevenueMicros: bigint }>();
    for (const c of calls) {
      const m = models.get(c.model) ?? { calls: 0, byokCalls: 0, byokRevenueMicros: 0n };
      m.calls += 1;
      if (c.credential === "byok") {
        m.byokCalls += 1;
        m.byokRevenueMicros += charged(c);
      }
      models.set(c.model, m);
    }
    return models;
  };

  it("the admin's figures per model equal the sums over the calls, from whole hours and partial ones", async () => {
    const ranges = [
      { q: { from: DAY1, to: DAY2 }, calls: CALLS },
      // Partial hours at both edges: 10:02:30 on day 1 to 09:01:30 on day 2 (usage_events for the edges).
      {
        q: { from: `${DAY1}T10:02:30Z`, to: `${DAY2}T09:01:30Z` },
        calls: CALLS.filter((c) => c.at >= `${DAY1}T10:02:30Z` && c.at < `${DAY2}T09:01:30Z`),
      },
    ];
    for (const { q, calls } of ranges) {
      const report = await byokReport(sql, ADMIN_ACTOR(adminId), q);
      const want = expected(calls);
      expect(new Map(report.byModel.map(({ model, ...m }) => [model, m]))).toEqual(want);
      expect(report.totals).toEqual({
        calls: calls.length,
        byokCalls: calls.filter((c) => c.credential === "byok").length,
        byokRevenueMicros: [...want.values()].reduce((sum, m) => sum + m.byokRevenueMicros, 0n),
      });
    }
    const { GET } = await import("@/app/api/v1/analytics/byok/route");
    const res = await call(GET, { cookie: admin, path: `/api/v1/analytics/byok?from=${DAY1}&to=${DAY2}` });
    expect(res.status).toBe(200);
    const large = res.body.byModel.find((m: { model: string }) => m.model === "byok-large");
    const want = expected(CALLS).get("byok-large")!;
    expect(large).toEqual({
      model: "byok-large",
      ...want,
      byokRevenueMicros: Number(want.byokRevenueMicros),
    });
  });

  it("a developer's own figures count their calls only", async () => {
    const { GET } = await import("@/app/api/v1/me/analytics/byok/route");
    const res = await call(GET, {
      cookie: users.share.cookie,
      path: `/api/v1/me/analytics/byok?from=${DAY1}&to=${DAY2}`,
    });
    expect(res.status).toBe(200);
    const mine = CALLS.filter((c) => c.who === "share");
    expect(res.body.totals).toEqual({
      calls: mine.length,
      byokCalls: mine.filter((c) => c.credential === "byok").length,
      byokRevenueMicros: Number(
        mine.reduce((sum, c) => sum + (c.credential === "byok" ? charged(c) : 0n), 0n),
      ),
    });
  });
});
