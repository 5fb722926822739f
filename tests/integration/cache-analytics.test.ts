// The response cache and guardrails as the platform shows them (issue 30), on real PostgreSQL: the price book's
// cache-hit share (a new version's cacheHitBps, refused when it is not an integer 0–10,000), hit rows charged
// cache_hit_charge of their full price at no provider cost, the analytics' money saved per model and per account
// against the sum over hit rows of (full price − hit price) computed here, hit rates, the request log's cache and
// safety filters, and the unsafe_rate alert. The calls stand at fixed moments in March 2026 (a simulated clock), so
// nothing depends on today's date.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluateAlerts } from "@/lib/analytics/alerts";
import { cacheReport } from "@/lib/analytics/cache";
import { listRequests } from "@/lib/analytics/requests";
import { FLAGGED_SAFETY_SCORE, requestLogQuery } from "@/lib/analytics/schemas";
import { settleUsage } from "@/lib/billing/settle";
import { ADMIN_ACTOR, accountOf, event, insertKey, topUp } from "../helpers/billing";
import { simulatedClock } from "../helpers/clock";
import { createTestDatabase } from "../helpers/db";
import { call } from "../helpers/http";
import { cacheHitCharge, priceTokens } from "../helpers/price";
import { insertUser, signIn } from "../helpers/users";

const { sql } = await createTestDatabase();
const clock = simulatedClock(sql, "2026-03-10T00:00:00Z");
const DAY1 = "2026-03-10";
const DAY2 = "2026-03-11";
const RANGE = { from: DAY1, to: DAY2 };

/** Two models with a cache-hit share each: a tenth of the price, and free. */
const MODELS = {
  "cache-tenth": {
    bps: 1000,
    price: { input: 3_000_000n, output: 15_000_000n, inputCost: 2_000_000n, outputCost: 10_000_000n },
  },
  "cache-free": {
    bps: 0,
    price: { input: 500_000n, output: 1_500_000n, inputCost: 300_000n, outputCost: 900_000n },
  },
} as const;
type ModelName = keyof typeof MODELS;

interface Call {
  who: "alice" | "bob";
  id: string;
  model: ModelName;
  at: string;
  prompt: number;
  completion: number;
  cacheHit?: boolean;
  status?: "success" | "failure";
  piiMasked?: Record<string, number>;
  safetyScore?: number | null;
}

// Day 1 (the hour from 10:00 UTC) and day 2: hits and misses of both models for two accounts, one call asking to be
// a hit that failed (a failed call is never a hit), masked PII and safety scores either side of the flag line.
const CALLS: Call[] = [
  {
    who: "alice",
    id: "a1",
    model: "cache-tenth",
    at: `${DAY1}T10:00:00Z`,
    prompt: 333,
    completion: 77,
    cacheHit: true,
    safetyScore: 10,
  },
  {
    who: "alice",
    id: "a2",
    model: "cache-tenth",
    at: `${DAY1}T10:01:00Z`,
    prompt: 333,
    completion: 77,
    piiMasked: { email: 2, card: 1 },
    safetyScore: 80,
  },
  {
    who: "alice",
    id: "a3",
    model: "cache-free",
    at: `${DAY1}T10:02:00Z`,
    prompt: 120,
    completion: 40,
    cacheHit: true,
  },
  {
    who: "alice",
    id: "a4",
    model: "cache-tenth",
    at: `${DAY1}T10:03:00Z`,
    prompt: 50,
    completion: 0,
    cacheHit: true,
    status: "failure",
  },
  {
    who: "bob",
    id: "b1",
    model: "cache-tenth",
    at: `${DAY1}T10:04:00Z`,
    prompt: 1000,
    completion: 333,
    cacheHit: true,
    safetyScore: FLAGGED_SAFETY_SCORE,
  },
  {
    who: "bob",
    id: "b2",
    model: "cache-free",
    at: `${DAY1}T10:05:00Z`,
    prompt: 10,
    completion: 5,
    cacheHit: true,
    safetyScore: 49,
  },
  {
    who: "bob",
    id: "b3",
    model: "cache-free",
    at: `${DAY1}T10:06:00Z`,
    prompt: 50,
    completion: 50,
    piiMasked: { phone: 1 },
  },
  {
    who: "alice",
    id: "a5",
    model: "cache-tenth",
    at: `${DAY2}T09:00:00Z`,
    prompt: 7,
    completion: 3,
    cacheHit: true,
    safetyScore: 0,
  },
  { who: "bob", id: "b4", model: "cache-tenth", at: `${DAY2}T09:01:00Z`, prompt: 400, completion: 100 },
];

/** What a call served by the provider is charged (tests/helpers/price.ts), and so what its hit is measured from. */
const fullPrice = (c: Call) =>
  c.status === "failure" ? 0n : priceTokens({ input: c.prompt, output: c.completion }, MODELS[c.model].price);
const isHit = (c: Call) => Boolean(c.cacheHit) && c.status !== "failure";
const hitPrice = (c: Call) => cacheHitCharge(fullPrice(c), MODELS[c.model].bps);
const savedOf = (calls: Call[]) =>
  calls.filter(isHit).reduce((sum, c) => sum + fullPrice(c) - hitPrice(c), 0n);

const ids: Record<string, string> = {};
let adminId: string;
let admin: string;
let alice: string;

beforeAll(async () => {
  adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
  ids.alice = await insertUser(sql, { email: "alice@example.com", role: "developer" });
  ids.bob = await insertUser(sql, { email: "bob@example.com", role: "developer" });
  admin = await signIn("admin@example.com");
  alice = await signIn("alice@example.com");
  // Price versions are append-only: each model's is written with its cache-hit share, in force from the clock's since.
  for (const [name, m] of Object.entries(MODELS)) {
    const [model] = await sql<{ id: string }[]>`
      insert into models (public_name, litellm_model_group, provider, context_window, max_output_tokens)
      values (${name}, ${name}, 'fake', 16384, 4096) returning id`;
    await sql`
      insert into price_versions (model_id, effective_from, input_cost_micros, output_cost_micros, input_price_micros,
                                  output_price_micros, cache_hit_bps)
      values (${model!.id}, ${clock.since}, ${m.price.inputCost}, ${m.price.outputCost}, ${m.price.input},
              ${m.price.output}, ${m.bps})`;
  }
  const keys = { alice: await insertKey(sql, ids.alice), bob: await insertKey(sql, ids.bob) };
  for (const who of ["alice", "bob"] as const)
    await topUp(sql, adminId, (await accountOf(sql, ids[who]!)).id, 10_000_000n);
  // Only this file's rule is evaluated (the default overrun rule would see these unreserved calls).
  await sql`update alert_rules set enabled = false`;
  for (const c of CALLS) {
    const ended = new Date(Date.parse(c.at) + 300).toISOString();
    await clock.at(ended, (db) =>
      settleUsage(db, [
        event(keys[c.who], c.id, {
          modelGroup: c.model,
          providerModel: `openai/${c.model}`,
          promptTokens: c.prompt,
          completionTokens: c.completion,
          status: c.status ?? "success",
          errorClass: c.status === "failure" ? "RateLimitError" : null,
          startedAt: c.at,
          endedAt: ended,
          cacheHit: c.cacheHit ?? false,
          piiMasked: c.piiMasked ?? {},
          safetyScore: c.safetyScore ?? null,
        }),
      ]),
    );
  }
});

afterAll(async () => {
  await sql.end();
});

async function get(path: string, cookie = admin) {
  const url = new URL(path, "http://localhost");
  const routes: Record<string, () => Promise<{ GET: Parameters<typeof call>[0] }>> = {
    "/api/v1/analytics/cache": () => import("@/app/api/v1/analytics/cache/route"),
    "/api/v1/me/analytics/cache": () => import("@/app/api/v1/me/analytics/cache/route"),
    "/api/v1/requests": () => import("@/app/api/v1/requests/route"),
    "/api/v1/me/requests": () => import("@/app/api/v1/me/requests/route"),
    "/api/v1/requests/export": () => import("@/app/api/v1/requests/export/route"),
    "/api/v1/models": () => import("@/app/api/v1/models/route"),
  };
  const { GET } = await routes[url.pathname]!();
  return call(GET, { cookie, path });
}

describe("the price book's cache-hit share", () => {
  it("stores a new version's cacheHitBps, shows it in the price book and the catalog, 10,000 by default", async () => {
    const [model] = await sql<{ id: string }[]>`
      insert into models (public_name, litellm_model_group, provider, context_window, max_output_tokens)
      values ('priced-by-api', 'priced-by-api', 'fake', 16384, 4096) returning id`;
    const { POST, GET } = await import("@/app/api/v1/prices/route");
    const body = {
      modelId: model!.id,
      inputCostMicros: 1_000_000,
      outputCostMicros: 2_000_000,
      inputPriceMicros: 2_000_000,
      outputPriceMicros: 4_000_000,
    };
    const res = await call(POST, {
      cookie: admin,
      path: "/api/v1/prices",
      body: { ...body, cacheHitBps: 1000 },
    });
    expect(res.status).toBe(201);
    expect(res.body.version.cacheHitBps).toBe(1000);
    const [stored] = await sql`select cache_hit_bps from price_versions where id = ${res.body.version.id}`;
    expect(stored!.cache_hit_bps).toBe(1000);
    const book = await call(GET, { cookie: alice, path: "/api/v1/prices" });
    expect(book.body.items.find((v: { id: string }) => v.id === res.body.version.id).cacheHitBps).toBe(1000);
    const catalog = await get("/api/v1/models");
    expect(catalog.body.items.find((m: { id: string }) => m.id === model!.id).cacheHitBps).toBe(1000);

    // No cacheHitBps: the full price (a later version, so the effective times differ).
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const plain = await call(POST, {
      cookie: admin,
      path: "/api/v1/prices",
      body: { ...body, effectiveFrom: later },
    });
    expect(plain.status).toBe(201);
    expect(plain.body.version.cacheHitBps).toBe(10_000);
  });

  it.each([10_001, -1, "1000", 12.5, null])(
    "refuses cacheHitBps %j with 422 and writes nothing",
    async (bad) => {
      const [model] = await sql<{ id: string }[]>`select id from models where public_name = 'cache-free'`;
      const [before] = await sql<{ n: number }[]>`select count(*)::int as n from price_versions`;
      const { POST } = await import("@/app/api/v1/prices/route");
      const res = await call(POST, {
        cookie: admin,
        path: "/api/v1/prices",
        body: {
          modelId: model!.id,
          inputCostMicros: 1,
          outputCostMicros: 1,
          inputPriceMicros: 1,
          outputPriceMicros: 1,
          cacheHitBps: bad,
        },
      });
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe("validation_failed");
      expect(JSON.stringify(res.body.error)).toContain("cacheHitBps");
      const [after] = await sql<{ n: number }[]>`select count(*)::int as n from price_versions`;
      expect(after!.n).toBe(before!.n);
    },
  );
});

describe("hit rows", () => {
  it("charge cache_hit_charge of the full price, cost nothing and keep what they saved", async () => {
    const rows = await sql<
      {
        call_id: string;
        cache_hit: boolean;
        revenue_micros: bigint;
        cost_micros: bigint;
        cache_saved_micros: bigint | null;
        pii_masked: Record<string, number> | null;
        safety_score: number | null;
      }[]
    >`select call_id, cache_hit, revenue_micros, cost_micros, cache_saved_micros, pii_masked, safety_score
      from usage_events`;
    expect(rows).toHaveLength(CALLS.length);
    const byId = new Map(rows.map((r) => [r.call_id, r]));
    let hits = 0;
    for (const c of CALLS) {
      const row = byId.get(c.id)!;
      expect(row.cache_hit, c.id).toBe(isHit(c));
      if (isHit(c)) {
        hits++;
        expect(row.revenue_micros, c.id).toBe(hitPrice(c));
        expect(row.cost_micros, c.id).toBe(0n);
        expect(row.cache_saved_micros, c.id).toBe(fullPrice(c) - hitPrice(c));
      } else {
        expect(row.revenue_micros, c.id).toBe(fullPrice(c));
        expect(row.cache_saved_micros, c.id).toBeNull();
      }
      expect(row.pii_masked, c.id).toEqual(c.piiMasked ?? null);
      expect(row.safety_score, c.id).toBe(c.safetyScore ?? null);
    }
    expect(hits).toBe(5);
    // The rounding is up: a tenth of 2,154 micro-USD is 216, of 66 is 7; a free model's hit is 0.
    expect(hitPrice(CALLS.find((c) => c.id === "a1")!)).toBe(216n);
    expect(hitPrice(CALLS.find((c) => c.id === "a5")!)).toBe(7n);
    expect(byId.get("a3")!.revenue_micros).toBe(0n);
  });
});

describe("the Response cache analytics", () => {
  const models = Object.keys(MODELS) as ModelName[];

  it("money saved per model and per account equals Σ over hit rows of (full price − hit price)", async () => {
    // Whole UTC days of a platform-wide view: per model from usage_hourly.
    const res = await get(`/api/v1/analytics/cache?from=${DAY1}&to=${DAY2}`);
    expect(res.status).toBe(200);
    const report = res.body;
    for (const model of models) {
      const calls = CALLS.filter((c) => c.model === model);
      const row = report.byModel.find((r: { model: string }) => r.model === model);
      expect(BigInt(row.savedMicros), model).toBe(savedOf(calls));
      expect(row.calls, model).toBe(calls.length);
      expect(row.hits, model).toBe(calls.filter(isHit).length);
      expect(BigInt(row.hitRevenueMicros), model).toBe(
        calls.filter(isHit).reduce((sum, c) => sum + hitPrice(c), 0n),
      );
    }
    for (const who of ["alice", "bob"] as const) {
      const calls = CALLS.filter((c) => c.who === who);
      const account = await accountOf(sql, ids[who]!);
      const row = report.byAccount.find((r: { accountId: string }) => r.accountId === account.id);
      expect(row.label).toBe(`${who}@example.com`);
      expect(BigInt(row.savedMicros), who).toBe(savedOf(calls));
      expect([row.hits, row.calls], who).toEqual([calls.filter(isHit).length, calls.length]);
    }
    expect(BigInt(report.totals.savedMicros)).toBe(savedOf(CALLS));
    expect(report.totals).toMatchObject({ calls: CALLS.length, hits: 5 });
    expect(report.daily).toEqual([
      { day: DAY1, hits: 4, savedMicros: Number(savedOf(CALLS.filter((c) => c.at.startsWith(DAY1)))) },
      { day: DAY2, hits: 1, savedMicros: Number(savedOf(CALLS.filter((c) => c.at.startsWith(DAY2)))) },
    ]);
  });

  it("reads the same from the events where the roll-up cannot answer: partial hours, one user", async () => {
    const actor = ADMIN_ACTOR(adminId);
    // From 10:02 on day 1: a partial hour from the events, the rest from usage_hourly.
    const partial = await cacheReport(sql, actor, { from: `${DAY1}T10:02:00Z`, to: DAY2 });
    const after = CALLS.filter((c) => c.at >= `${DAY1}T10:02:00Z`);
    expect(partial.totals.savedMicros).toBe(savedOf(after));
    expect(partial.totals.hits).toBe(after.filter(isHit).length);
    expect(partial.totals.calls).toBe(after.length);
    const bob = await cacheReport(sql, actor, { ...RANGE, userId: ids.bob });
    const bobs = CALLS.filter((c) => c.who === "bob");
    expect(bob.byModel.map((r) => [r.model, r.hits, r.savedMicros]).sort()).toEqual(
      models
        .map((m) => {
          const calls = bobs.filter((c) => c.model === m);
          return [m, calls.filter(isHit).length, savedOf(calls)];
        })
        .sort(),
    );
  });

  it("a developer sees their own hits and savings only", async () => {
    const res = await get(`/api/v1/me/analytics/cache?from=${DAY1}&to=${DAY2}`, alice);
    expect(res.status).toBe(200);
    const mine = CALLS.filter((c) => c.who === "alice");
    expect(res.body.totals).toMatchObject({ calls: mine.length, hits: mine.filter(isHit).length });
    expect(BigInt(res.body.totals.savedMicros)).toBe(savedOf(mine));
    expect(res.body.byAccount).toHaveLength(1);
    expect((await get(`/api/v1/analytics/cache?from=${DAY1}&to=${DAY2}`, alice)).status).toBe(403);
    expect((await get(`/api/v1/analytics/cache?from=${DAY1}&cacheHit=true`)).status).toBe(422);
  });
});

describe("the request log's cache and safety filters", () => {
  const list = async (q: Record<string, string>) => {
    const page = await listRequests(sql, ADMIN_ACTOR(adminId), requestLogQuery.parse({ ...RANGE, ...q }));
    return page.items.map((r) => r.callId).sort();
  };

  it("filters hits, misses and safety scores at or above a line, and shows what was masked", async () => {
    expect(await list({ cacheHit: "true" })).toEqual(
      CALLS.filter(isHit)
        .map((c) => c.id)
        .sort(),
    );
    expect(await list({ cacheHit: "false" })).toEqual(
      CALLS.filter((c) => !isHit(c))
        .map((c) => c.id)
        .sort(),
    );
    expect(await list({ minSafetyScore: String(FLAGGED_SAFETY_SCORE) })).toEqual(["a2", "b1"]);
    expect(await list({ minSafetyScore: "0" })).toEqual(["a1", "a2", "a5", "b1", "b2"]);
    expect(await list({ minSafetyScore: "50", cacheHit: "true" })).toEqual(["b1"]);
    const flagged = await listRequests(
      sql,
      ADMIN_ACTOR(adminId),
      requestLogQuery.parse({ ...RANGE, minSafetyScore: "80" }),
    );
    expect(flagged.items).toHaveLength(1);
    expect(flagged.items[0]).toMatchObject({
      callId: "a2",
      cacheHit: false,
      piiMasked: { email: 2, card: 1 },
      safetyScore: 80,
    });
  });

  it("refuses other values with 422 and keeps a developer to their own rows", async () => {
    for (const bad of [
      "cacheHit=yes",
      "cacheHit=1",
      "minSafetyScore=101",
      "minSafetyScore=-1",
      "minSafetyScore=5.5",
    ]) {
      const res = await get(`/api/v1/requests?from=${DAY1}&to=${DAY2}&${bad}`);
      expect(res.status, bad).toBe(422);
    }
    const res = await get(`/api/v1/me/requests?from=${DAY1}&to=${DAY2}&cacheHit=true`, alice);
    expect(res.status).toBe(200);
    expect(res.body.items.map((r: { callId: string }) => r.callId).sort()).toEqual(["a1", "a3", "a5"]);
  });

  it("exports the cache, PII and safety columns with the filters applied", async () => {
    const res = await get(`/api/v1/requests/export?from=${DAY1}&to=${DAY2}&minSafetyScore=50`);
    expect(res.status).toBe(200);
    const [header, ...lines] = String(res.body).trim().split("\r\n");
    const columns = header!.split(",");
    expect(columns.slice(-4)).toEqual(["cache_hit", "cache_saved_usd", "pii_masked", "safety_score"]);
    expect(lines).toHaveLength(2);
    const b1 = lines.find((l) => l.includes("b1"))!;
    const saved = fullPrice(CALLS.find((c) => c.id === "b1")!) - hitPrice(CALLS.find((c) => c.id === "b1")!);
    expect(b1.endsWith(`,true,${(Number(saved) / 1e6).toFixed(6)},,50`)).toBe(true);
    expect(lines.find((l) => l.includes("a2"))!.endsWith(',false,,"email ×2, card ×1",80')).toBe(true);
  });
});

describe("the unsafe_rate alert", () => {
  it("fires on a window with flagged calls and not on one without", async () => {
    const { POST } = await import("@/app/api/v1/alerts/rules/route");
    const tooHigh = await call(POST, {
      cookie: admin,
      path: "/api/v1/alerts/rules",
      body: { name: "x", scope: "platform", metric: "unsafe_rate", warnThreshold: 10_001 },
    });
    expect(tooHigh.status).toBe(422);
    const created = await call(POST, {
      cookie: admin,
      path: "/api/v1/alerts/rules",
      body: {
        name: "Flagged prompts",
        scope: "platform",
        metric: "unsafe_rate",
        windowMinutes: 60,
        warnThreshold: 1000,
        criticalThreshold: 5000,
        minCalls: 2,
      },
    });
    expect(created.status).toBe(201);
    const ruleId = created.body.rule.id;
    const episode = async () =>
      (
        await sql<{ severity: string; value: bigint; cleared: boolean }[]>`
          select severity, value, cleared_at is not null as cleared from alert_episodes
          where rule_id = ${ruleId} order by id desc limit 1`
      )[0];

    // Day 2's hour: two calls, none flagged.
    expect(await evaluateAlerts(sql, new Date(`${DAY2}T09:30:00Z`))).toMatchObject({ opened: 0 });
    expect(await episode()).toBeUndefined();
    // Day 1's hour: 2 of 7 calls flagged (a2 at 80, b1 at the line; b2 at 49 is not) = 2,857 bp: a warning.
    expect(await evaluateAlerts(sql, new Date(`${DAY1}T10:30:00Z`))).toMatchObject({ opened: 1 });
    expect(await episode()).toMatchObject({ severity: "warning", value: 2857n, cleared: false });
    // An hour later the window holds no calls: resolved.
    expect(await evaluateAlerts(sql, new Date(`${DAY1}T11:30:00Z`))).toMatchObject({ resolved: 1 });
    expect(await episode()).toMatchObject({ cleared: true });
  });
});
