// Routing definitions on real PostgreSQL (issue 29): admins define virtual models over real models with quality
// scores (audited, strict bodies, Origin checked); a key's auth answer lists a virtual model exactly when the key may
// call one of its candidates, and the lease epoch moves when a definition changes; the gateway's route carries the
// price in force of each enabled candidate.
import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { createKey } from "@/lib/keys/create";
import { verifyKey } from "@/lib/keys/verify";
import { gatewayRouting } from "@/lib/routing/gateway";
import { HEALTH_SAMPLE_CALLS, modelHealth } from "@/lib/routing/health";
import { ADMIN_ACTOR, seedPricedModel } from "../helpers/billing";
import { createTestDatabase } from "../helpers/db";
import { call } from "../helpers/http";
import { insertUser, signIn } from "../helpers/users";

const { sql } = await createTestDatabase();
const PEPPER = process.env.KEY_PEPPER!;
let admin: string;
let adminId: string;
let developer: string;

const list = () => import("@/app/api/v1/routing/route");
const one = () => import("@/app/api/v1/routing/[id]/route");
const internal = () => import("@/app/api/internal/gateway/routing/route");

beforeAll(async () => {
  adminId = await insertUser(sql, { email: "admin@example.com", role: "admin" });
  await insertUser(sql, { email: "dev@example.com" });
  admin = await signIn("admin@example.com");
  developer = await signIn("dev@example.com");
  await seedPricedModel(sql, "fake-small");
  await seedPricedModel(sql, "fake-large", {
    input: 3_500_000n,
    output: 15_000_000n,
    inputCost: 2_500_000n,
    outputCost: 10_000_000n,
  });
  await seedPricedModel(sql, "fake-slow");
});

async function create(body: Record<string, unknown>, cookie = admin) {
  return call((await list()).POST, { cookie, body });
}

async function keyFor(allowedModels: string[]) {
  const userId = await insertUser(sql, { email: `${randomUUID()}@example.com` });
  const created = await createKey(
    sql,
    { userId: null, kind: "system" },
    { userId, name: "routing key", allowedModels, rpmLimit: null, tpmLimit: null, expiresAt: null },
    { pepper: PEPPER },
  );
  return created.secret;
}

async function allowed(secret: string) {
  const verdict = await verifyKey(sql, secret, PEPPER);
  if (!verdict.valid) throw new Error(verdict.message);
  return verdict.key;
}

describe("virtual models (admin API)", () => {
  it("are created and changed by admins only, audited before and after", async () => {
    const body = {
      name: "auto:cheapest",
      strategy: "cheapest",
      candidates: [
        { model: "fake-small", quality: 60 },
        { model: "fake-large", quality: 90 },
      ],
    };
    expect((await create(body, developer)).status).toBe(403);
    expect((await call((await list()).POST, { body })).status).toBe(401);
    const res = await create(body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const id = res.body.virtualModel.id as string;
    expect(res.body.virtualModel.candidates).toEqual([
      { model: "fake-large", quality: 90 },
      { model: "fake-small", quality: 60 },
    ]);
    expect((await create(body)).status).toBe(409);
    // Nor can a real model take a virtual model's name later: the gateway would route it, never serve it.
    const { createModel } = await import("@/lib/models/catalog");
    await expect(
      createModel(
        sql,
        { userId: adminId, kind: "user", role: "admin" },
        {
          publicName: "auto:cheapest",
          litellmModelGroup: "fake-small",
          provider: "openai",
          description: "",
          contextWindow: 16384,
          maxOutputTokens: 4096,
          enabled: true,
          free: false,
          skipGatewayCheck: true,
        },
      ),
    ).rejects.toThrow(/virtual model's name/);

    const patched = await call((await one()).PATCH, {
      method: "PATCH",
      cookie: admin,
      params: { id },
      body: { enabled: false, candidates: [{ model: "fake-small", quality: 61 }] },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.virtualModel).toMatchObject({
      enabled: false,
      candidates: [{ model: "fake-small", quality: 61 }],
    });
    const audit = await sql<{ action: string; before: unknown; after: { enabled: boolean } }[]>`
      select action, before, after from audit_log where target_id = ${id} order by id`;
    expect(audit.map((a) => a.action)).toEqual(["virtual_model.create", "virtual_model.update"]);
    expect(audit[1]!.after.enabled).toBe(false);
    const listed = await call((await list()).GET, { method: "GET", cookie: admin });
    expect(listed.body.items.map((v: { name: string }) => v.name)).toContain("auto:cheapest");
    expect((await call((await list()).GET, { method: "GET", cookie: developer })).status).toBe(403);
  });

  it.each([
    [
      "an unknown strategy",
      { name: "auto:x", strategy: "random", candidates: [{ model: "fake-small", quality: 1 }] },
    ],
    ["no candidate", { name: "auto:x", strategy: "quality", candidates: [] }],
    [
      "a score above 100",
      { name: "auto:x", strategy: "quality", candidates: [{ model: "fake-small", quality: 101 }] },
    ],
    [
      "a fractional score",
      { name: "auto:x", strategy: "quality", candidates: [{ model: "fake-small", quality: 1.5 }] },
    ],
    [
      "the same model twice",
      {
        name: "auto:x",
        strategy: "quality",
        candidates: [
          { model: "fake-small", quality: 1 },
          { model: "fake-small", quality: 2 },
        ],
      },
    ],
    ["an unknown field", { name: "auto:x", strategy: "quality", candidates: [], extra: 1 }],
    [
      "a bad name",
      { name: "auto x", strategy: "quality", candidates: [{ model: "fake-small", quality: 1 }] },
    ],
    [
      "an unknown model",
      { name: "auto:x", strategy: "quality", candidates: [{ model: "nope", quality: 1 }] },
    ],
    [
      "a real model's name",
      { name: "fake-large", strategy: "quality", candidates: [{ model: "fake-small", quality: 1 }] },
    ],
  ])("refuses %s with 422 and writes nothing", async (_label, body) => {
    const before = await sql`select count(*)::int as n from virtual_models`;
    const res = await create(body);
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.body.error.code).toBe("validation_failed");
    expect(await sql`select count(*)::int as n from virtual_models`).toEqual(before);
  });

  it("refuses a cookie mutation from another origin", async () => {
    const res = await call((await list()).POST, {
      cookie: admin,
      origin: "https://evil.example",
      body: { name: "auto:origin", strategy: "quality", candidates: [{ model: "fake-small", quality: 1 }] },
    });
    expect(res.status).toBe(403);
    expect(await sql`select 1 from virtual_models where name = 'auto:origin'`).toHaveLength(0);
  });
});

describe("the auth answer and the gateway's definitions", () => {
  it("lists a virtual model for a key that may call one of its candidates, and moves the lease epoch on a change", async () => {
    const res = await create({
      name: "auto:fastest",
      strategy: "fastest",
      candidates: [
        { model: "fake-large", quality: 90 },
        { model: "fake-slow", quality: 40 },
      ],
    });
    expect(res.status).toBe(201);
    const any = await keyFor([]);
    const small = await keyFor(["fake-small"]);
    const slow = await keyFor(["fake-slow"]);
    expect((await allowed(any)).allowedModels).toContain("auto:fastest");
    expect((await allowed(slow)).allowedModels).toEqual(["fake-slow", "auto:fastest"]);
    expect((await allowed(small)).allowedModels).not.toContain("auto:fastest");

    const epoch = (await allowed(slow)).leaseEpoch;
    await call((await one()).PATCH, {
      method: "PATCH",
      cookie: admin,
      params: { id: res.body.virtualModel.id },
      body: { enabled: false },
    });
    const after = await allowed(slow);
    expect(after.allowedModels).toEqual(["fake-slow"]);
    expect(after.leaseEpoch).not.toBe(epoch);
    // A disabled candidate model no longer opens it either.
    await call((await one()).PATCH, {
      method: "PATCH",
      cookie: admin,
      params: { id: res.body.virtualModel.id },
      body: { enabled: true },
    });
    await sql`update models set enabled = false where public_name = 'fake-slow'`;
    expect((await allowed(slow)).allowedModels).not.toContain("auto:fastest");
    await sql`update models set enabled = true where public_name = 'fake-slow'`;
  });

  it("gives the gateway each enabled virtual model's enabled candidates with the price in force", async () => {
    await create({
      name: "auto:quality",
      strategy: "quality",
      candidates: [
        { model: "fake-large", quality: 95 },
        { model: "fake-small", quality: 50 },
      ],
    });
    const routing = await gatewayRouting(sql);
    const quality = routing.virtualModels.find((v) => v.name === "auto:quality");
    expect(quality).toEqual({
      name: "auto:quality",
      strategy: "quality",
      candidates: [
        {
          model: "fake-large",
          quality: 95,
          inputMicrosPerMillion: 3_500_000,
          outputMicrosPerMillion: 15_000_000,
        },
        {
          model: "fake-small",
          quality: 50,
          inputMicrosPerMillion: 500_000,
          outputMicrosPerMillion: 1_500_000,
        },
      ],
    });
    // Disabled virtual models are not routed.
    expect(routing.virtualModels.find((v) => v.name === "auto:cheapest")).toBeUndefined();
    const { GET } = await internal();
    expect((await call(GET, { method: "GET" })).status).toBe(401);
  });
});

describe("model health from usage", () => {
  /** A new user's key, whose calls the tests insert as rows. */
  const healthKey = async () => {
    const userId = await insertUser(sql, { email: `${randomUUID()}@example.com` });
    const [key] = await sql<{ id: string; account_id: string }[]>`
      insert into api_keys (user_id, name, prefix, key_hash) values (${userId}, 'h', 'tg_h', ${Buffer.from(randomUUID())})
      returning id, account_id`;
    return key!;
  };

  it("computes error rate and latency percentiles per model group over the window", async () => {
    const key = await healthKey();
    const at = new Date("2026-03-10T12:00:00Z");
    const rows = [
      // 4 successes of 100, 200, 300, 400 ms (the first with a 50 ms first token) and one failure, 10 minutes ago
      ...[100, 200, 300, 400].map((ms, i) => ({ ms, status: "success", ttft: i === 0 ? 50 : null })),
      { ms: 5, status: "failure", ttft: null },
      // Calls the gateway never sent (no answer to their hold; a failure inside the gateway) reached no model: not
      // the model's failures.
      { ms: 3000, status: "failure", ttft: null, error: "ReservationUnavailable" },
      { ms: 1, status: "failure", ttft: null, error: "NotServed" },
    ];
    for (const [i, r] of rows.entries()) {
      const started = new Date(at.getTime() - 10 * 60_000 + i);
      await sql`
        insert into usage_events (key_id, call_id, account_id, model_group, status, prompt_tokens,
                                  completion_tokens, cost_micros, revenue_micros, started_at, ended_at,
                                  first_token_at, error_class)
        values (${key.id}, ${randomUUID()}, ${key.account_id}, 'fake-health', ${r.status}, 1, 1, 0, 0,
                ${started}, ${new Date(started.getTime() + r.ms)},
                ${r.ttft == null ? null : new Date(started.getTime() + r.ttft)},
                ${"error" in r ? r.error : null})`;
    }
    const [hour] = (await modelHealth(sql, ADMIN_ACTOR(adminId), at, 1)).filter(
      (r) => r.modelGroup === "fake-health",
    );
    expect(hour).toEqual({
      modelGroup: "fake-health",
      calls: 5,
      failures: 1,
      errorRate: 0.2,
      latencyP50Ms: 250,
      latencyP95Ms: 385,
      ttftP50Ms: 50,
      ttftP95Ms: 50,
      sampledCalls: 5,
    });
    // An hour later the rows are out of the last hour, still in the last day.
    const later = new Date(at.getTime() + 60 * 60_000);
    expect(
      (await modelHealth(sql, ADMIN_ACTOR(adminId), later, 1)).some((r) => r.modelGroup === "fake-health"),
    ).toBe(false);
    expect(
      (await modelHealth(sql, ADMIN_ACTOR(adminId), later, 24)).find((r) => r.modelGroup === "fake-health")
        ?.calls,
    ).toBe(5);
  });
  // 240,000 rows through the roll-up triggers: on a slow host beside the other stages, past vitest's 30 s.
  it("counts every call exactly past the sample, whole hours from the hourly roll-ups and the window's ends from its rows", {
    timeout: 180_000,
  }, async () => {
    const key = await healthKey();
    // Past HEALTH_SAMPLE_CALLS in the window: two models of fixed latencies (100 and 300 ms), a failure in 50 and a
    // call never sent in 70, over 26 hours ending between two hours' starts (the window's ends fall inside hours).
    const now = new Date("2026-02-28T23:37:13.250Z");
    const n = Math.round(HEALTH_SAMPLE_CALLS * 1.2);
    await sql`
      insert into usage_events (key_id, call_id, account_id, model_group, status, prompt_tokens, completion_tokens,
                                cost_micros, revenue_micros, started_at, ended_at, error_class)
      select ${key.id}::uuid, gen_random_uuid()::text, ${key.account_id}::uuid, m.model,
             case when g % 50 = 0 or g % 70 = 0 then 'failure' else 'success' end, 1, 1, 0, 0, t.started,
             t.started + make_interval(secs => m.ms / 1000.0),
             case when g % 70 = 0 then 'NotServed' when g % 50 = 0 then 'ProviderError' end
      from generate_series(1, ${n}::int) g
      cross join lateral (select case when g % 2 = 0 then 'fake-health-a' else 'fake-health-b' end as model,
                                 case when g % 2 = 0 then 100 else 300 end as ms) m
      cross join lateral (select ${now}::timestamptz - make_interval(secs => (g * 26 * 3600.0) / ${n}::int) as started) t`;
    // A model with served calls only, in whole hours (no failure anywhere: 0, not null), one of them a success whose
    // error class says not sent (served, so counted).
    for (const [i, error] of [null, "NotServed"].entries()) {
      const started = new Date(now.getTime() - 5 * 3_600_000 - i * 60_000);
      await sql`
        insert into usage_events (key_id, call_id, account_id, model_group, status, prompt_tokens, completion_tokens,
                                  cost_micros, revenue_micros, started_at, ended_at, error_class)
        values (${key.id}, ${randomUUID()}, ${key.account_id}, 'fake-health-c', 'success', 1, 1, 0, 0, ${started},
                ${new Date(started.getTime() + 200)}, ${error})`;
    }
    // What the window holds, read from every row (the definition).
    const exact = async (hours: number) =>
      sql<{ model_group: string; calls: number; failures: number }[]>`
        select model_group, count(*)::int as calls, count(*) filter (where status = 'failure')::int as failures
        from usage_events
        where started_at > ${now}::timestamptz - make_interval(hours => ${hours}) and started_at <= ${now}
          and model_group like 'fake-health-%'
          and (status = 'success' or error_class is null or error_class <> 'NotServed')
        group by 1 order by 1`;
    for (const hours of [1, 24]) {
      const health = (await modelHealth(sql, ADMIN_ACTOR(adminId), now, hours)).filter((r) =>
        r.modelGroup.startsWith("fake-health-"),
      );
      expect(
        health.map((r) => ({ model_group: r.modelGroup, calls: r.calls, failures: r.failures })),
      ).toEqual(await exact(hours));
      // Fixed latencies: a sample reads them exactly (the rare model may have no call in it).
      expect(health.slice(0, 2).map((r) => [r.latencyP50Ms, r.latencyP95Ms])).toEqual([
        [100, 100],
        [300, 300],
      ]);
      const calls = health.reduce((sum, r) => sum + r.calls, 0);
      const sampled = health.reduce((sum, r) => sum + r.sampledCalls, 0);
      if (calls > HEALTH_SAMPLE_CALLS) expect(sampled).toBeLessThan(calls);
      else expect(sampled).toBe(calls);
    }
  });
});
