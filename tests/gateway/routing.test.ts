// Routing through the real gateway (issue 29, parts 3–4): real PostgreSQL, next start, LiteLLM with the plugin, the
// fake upstream (fake-slow answers slowly, fake-error-500 always fails, POST /control makes a model fail and recover),
// the official openai client.
// - auto:fastest sends ≥ 90 % of 200 calls to the fast healthy model; auto:cheapest sends its calls to the cheapest
//   healthy one; every usage row is charged at the price of the model that served it, and the x-tollgate-model header
//   names that model (streams too).
// - A failing model is rested (the gateway's health route says so) and serves again after its cool-down (short here).
import { beforeAll, describe, expect, it } from "vitest";
import { priceTokens } from "../helpers/price";
import { TEST_GATEWAY_SECRET } from "../stack/start";
import { customer, failure, startGatewayStack } from "./helpers";

// Long enough that a failing model gets few trial calls during a test's run, short enough to wait for.
const COOLDOWN_SECONDS = 8;
const ctx = startGatewayStack(
  "gateway-routing",
  { app: 3260, pg: 25640, litellm: 4221, upstream: 4231 },
  undefined,
  {
    TOLLGATE_LEASE_IDLE_SECONDS: "1",
    TOLLGATE_ROUTING_COOLDOWN_SECONDS: String(COOLDOWN_SECONDS),
    // The definitions written below (after the gateway started) are read within a second.
    TOLLGATE_ROUTING_TTL_SECONDS: "1",
  },
);

const upstream = () => ctx.stack.upstreamUrl!.replace(/\/v1$/, "");
const control = (model: string, fail: string | null) =>
  fetch(`${upstream()}/control`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, fail }),
  });

/** Prices in force (micro-USD per million tokens), as the price book holds them for this file. */
const PRICES: Record<string, { input: bigint; output: bigint }> = {};

async function defineVirtual(name: string, strategy: string, candidates: [string, number][]) {
  const [vm] = await ctx.sql<{ id: string }[]>`
    insert into virtual_models (name, strategy) values (${name}, ${strategy}) returning id`;
  for (const [model, quality] of candidates)
    await ctx.sql`insert into virtual_model_candidates (virtual_model_id, model, quality) values (${vm!.id}, ${model}, ${quality})`;
}

beforeAll(async () => {
  // fake-error-500 is in the price book here, the cheapest of all: a strategy would pick it but for its health.
  const [model] = await ctx.sql<{ id: string }[]>`
    insert into models (public_name, litellm_model_group, provider, context_window, max_output_tokens)
    values ('fake-error-500', 'fake-error-500', 'fake', 16384, 4096) returning id`;
  await ctx.sql`
    insert into price_versions (model_id, effective_from, input_cost_micros, output_cost_micros, input_price_micros,
                                output_price_micros)
    values (${model!.id}, now() - interval '1 day', 50000, 150000, 100000, 300000)`;
  await defineVirtual("auto:fastest", "fastest", [
    ["fake-slow", 60],
    ["fake-error-500", 70],
    ["fake-small", 50],
  ]);
  await defineVirtual("auto:cheapest", "cheapest", [
    ["fake-large", 90],
    ["fake-error-500", 70],
    ["fake-small", 50],
  ]);
  // Two models that never fail: its choice does not depend on when a resting model's cool-down ends.
  await defineVirtual("auto:healthy", "cheapest", [
    ["fake-large", 90],
    ["fake-small", 50],
  ]);
  await defineVirtual("auto:quality", "quality", [
    ["fake-large", 90],
    ["fake-small", 50],
  ]);
  const rows = await ctx.sql<
    { public_name: string; input_price_micros: bigint; output_price_micros: bigint }[]
  >`
    select m.public_name, pv.input_price_micros, pv.output_price_micros
    from models m cross join lateral price_version_at(m.id, now()) pv`;
  for (const r of rows)
    PRICES[r.public_name] = { input: r.input_price_micros, output: r.output_price_micros };
  // The gateway caches definitions for a second: let it forget the empty set it may have read at start.
  await new Promise((r) => setTimeout(r, 1500));
});

interface Served {
  model: string | null;
  callId: string | null;
  failed: boolean;
}

type Client = Awaited<ReturnType<typeof customer>>["client"];

async function callOnce(client: Client, model: string, i: number): Promise<Served> {
  try {
    const { response } = await client.chat.completions
      .create({ model, messages: [{ role: "user", content: `route me ${i}` }], max_tokens: 8 })
      .withResponse();
    return {
      model: response.headers.get("x-tollgate-model"),
      callId: response.headers.get("x-litellm-call-id"),
      failed: false,
    };
  } catch {
    return { model: null, callId: null, failed: true };
  }
}

/** n calls, `parallel` at a time, in order of start. */
async function calls(client: Client, model: string, n: number, parallel = 4): Promise<Served[]> {
  const out: Served[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await callOnce(client, model, i);
      }
    }),
  );
  return out;
}

const share = (served: Served[]) => {
  const counts: Record<string, number> = {};
  for (const s of served) counts[s.model ?? "failed"] = (counts[s.model ?? "failed"] ?? 0) + 1;
  return counts;
};

interface Row {
  call_id: string;
  model_group: string;
  status: string;
  prompt_tokens: number;
  completion_tokens: number;
  revenue_micros: bigint;
}
/** The key's usage rows, once every call id given has one (or the timeout passed). */
async function rowsOf(keyId: string, callIds: string[], timeoutMs = 30_000): Promise<Row[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await ctx.sql<Row[]>`
      select call_id, model_group, status, prompt_tokens, completion_tokens, revenue_micros
      from usage_events where key_id = ${keyId}`;
    const seen = new Set(rows.map((r) => r.call_id));
    if (callIds.every((id) => seen.has(id)) || Date.now() > deadline) return rows;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Each served call's row names the model the header named and is charged at that model's price. */
async function expectChargedAtServed(keyId: string, served: Served[]) {
  const ok = served.filter((s) => !s.failed);
  const rows = await rowsOf(
    keyId,
    ok.map((s) => s.callId!),
  );
  const byCall = new Map(rows.map((r) => [r.call_id, r]));
  for (const s of ok) {
    const row = byCall.get(s.callId!);
    expect(row, `usage row of ${s.callId}`).toBeDefined();
    expect(row!.model_group).toBe(s.model);
    expect(row!.status).toBe("success");
    expect(row!.revenue_micros).toBe(
      priceTokens({ input: row!.prompt_tokens, output: row!.completion_tokens }, PRICES[s.model!]!),
    );
  }
  // Failed calls are rows of the model they were sent to, charged nothing.
  for (const r of rows.filter((r) => r.status === "failure")) expect(r.revenue_micros).toBe(0n);
  return rows;
}

async function gatewayHealth(): Promise<{ model: string; state: string }[]> {
  const res = await fetch(`${ctx.stack.gatewayUrl!.replace(/\/v1$/, "")}/tollgate/routing/health`, {
    headers: { authorization: `Bearer ${TEST_GATEWAY_SECRET}` },
  });
  return res.ok ? ((await res.json()) as { models: { model: string; state: string }[] }).models : [];
}

describe("routing through the gateway", () => {
  it("auto:fastest sends at least 90 % of 200 calls to the fast healthy model, each charged at the model that served", async () => {
    const dev = await customer(ctx, 20_000_000n);
    const served = await calls(dev.client, "auto:fastest", 200);
    const counts = share(served);
    console.log("auto:fastest, calls per model:", JSON.stringify(counts));
    expect(counts["fake-small"] ?? 0).toBeGreaterThanOrEqual(180);
    // The slow one was only explored; the failing one failed a few times before it rested, then rested.
    expect(counts["fake-slow"] ?? 0).toBeLessThanOrEqual(4);
    const rows = await expectChargedAtServed(dev.id, served);
    expect(rows.filter((r) => r.model_group === "fake-error-500").every((r) => r.status === "failure")).toBe(
      true,
    );
  });

  it("auto:cheapest sends its calls to the cheapest healthy model, never the dearer one, charged at its price", async () => {
    const dev = await customer(ctx, 20_000_000n);
    const served = await calls(dev.client, "auto:cheapest", 60);
    const counts = share(served);
    console.log("auto:cheapest, calls per model:", JSON.stringify(counts));
    // fake-error-500 (cheapest) fails and rests (a trial call after each cool-down fails again); every call served
    // went to fake-small, the cheapest healthy one; fake-large never.
    expect(counts["fake-large"] ?? 0).toBe(0);
    expect((counts["fake-small"] ?? 0) + (counts.failed ?? 0)).toBe(60);
    expect(counts["fake-small"] ?? 0).toBeGreaterThanOrEqual(50);
    const rows = await expectChargedAtServed(dev.id, served);
    expect(rows.filter((r) => r.status === "failure").every((r) => r.model_group === "fake-error-500")).toBe(
      true,
    );
    // A stream names its model too.
    const stream = await dev.client.chat.completions
      .create({
        model: "auto:healthy",
        messages: [{ role: "user", content: "stream" }],
        max_tokens: 8,
        stream: true,
      })
      .withResponse();
    for await (const _ of stream.data) {
      /* drain */
    }
    expect(stream.response.headers.get("x-tollgate-model")).toBe("fake-small");
  });

  it("rests a failing model and serves it again after its cool-down", async () => {
    const dev = await customer(ctx, 20_000_000n);
    expect((await control("fake-large", "500")).status).toBe(200);
    try {
      const during = await calls(dev.client, "auto:quality", 10, 1);
      // Three failures in a row rest fake-large; the rest go to fake-small.
      expect(during.slice(0, 3).every((s) => s.failed)).toBe(true);
      expect(during.slice(3).map((s) => s.model)).toEqual(Array(7).fill("fake-small"));
      expect((await gatewayHealth()).find((m) => m.model === "fake-large")?.state).toBe("open");
    } finally {
      await control("fake-large", null);
    }
    // Still resting until its cool-down is over (the control changed nothing the gateway knows of).
    expect((await callOnce(dev.client, "auto:quality", 100)).model).toBe("fake-small");
    await new Promise((r) => setTimeout(r, COOLDOWN_SECONDS * 1000 + 300));
    const after = await calls(dev.client, "auto:quality", 5, 1);
    // The first is the trial; it succeeds, closes the breaker, and the best model serves again.
    expect(after.map((s) => s.model)).toEqual(Array(5).fill("fake-large"));
    expect((await gatewayHealth()).find((m) => m.model === "fake-large")?.state).toBe("closed");
    await expectChargedAtServed(dev.id, after);
  });

  it("refuses a virtual model to a key that may call none of its candidates, and lists it to keys that may", async () => {
    const dev = await customer(ctx, 1_000_000n);
    const narrow = await ctx.issueKey({ userId: dev.userId, allowedModels: ["fake-slow"] });
    const refused = await failure(
      ctx.client(narrow.secret).chat.completions.create({
        model: "auto:quality",
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 8,
      }),
    );
    expect(refused?.status).toBe(403);
    // The model list names a virtual model to the keys that may call one of its candidates (auto:fastest has fake-slow).
    expect((await ctx.client(narrow.secret).models.list()).data.map((m) => m.id)).toEqual([
      "fake-slow",
      "auto:fastest",
    ]);
    const listed = (await dev.client.models.list()).data.map((m) => m.id);
    expect(listed).toEqual(expect.arrayContaining(["auto:quality", "auto:fastest", "auto:cheapest"]));
    expect((await dev.client.models.retrieve("auto:quality")).id).toBe("auto:quality");
  });
});
