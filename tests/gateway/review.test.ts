// The outside review's attacks on money and on the gateway, replayed through the real LiteLLM proxy with the
// plugin, the fake upstream and the platform, with a valid key, checked on the numbers.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { priceTokens } from "../helpers/price";
import {
  balanceOf,
  customer,
  failure,
  gatewayBase,
  MASTER_KEY,
  startGatewayStack,
  usageRowsOf,
} from "./helpers";

const ctx = startGatewayStack(
  "gateway-review",
  { app: 3204, pg: 25437, litellm: 4105, upstream: 4115 },
  undefined,
  {
    // The per-call hold path (TOLLGATE_BILLING_MODE=hold), kept as the fallback; the lease path: leases.test.ts.
    TOLLGATE_BILLING_MODE: "hold",
  },
);
const messages = [{ role: "user" as const, content: "What does the review say?" }];
/** The gateway's prompt bound of a chat body holding only these messages (bounds.py): compact JSON bytes + 16 + 4 each. */
const promptBound = (m: unknown[]) => Buffer.byteLength(JSON.stringify({ messages: m })) + 16 + 4 * m.length;
const FUNDS = 1_000_000n;

interface Price {
  input: bigint;
  output: bigint;
  maxOutput: number;
}
const prices: Record<string, Price> = {};

beforeAll(async () => {
  // fake-dead is served by fake-large through the operator's fallback (litellm/config.yaml); it has its own,
  // lower, price in the catalog, as a cheap model would.
  await ctx.sql`
    with m as (
      insert into models (public_name, litellm_model_group, provider, context_window, max_output_tokens)
      values ('fake-dead', 'fake-dead', 'fake', 16384, 4096) returning id
    )
    insert into price_versions (model_id, effective_from, input_cost_micros, output_cost_micros, input_price_micros, output_price_micros)
    select id, now() - interval '1 hour', 300000, 900000, 500000, 1500000 from m`;
  const rows = await ctx.sql<
    { name: string; input: bigint; output: bigint; max_output: number }[]
  >`select m.public_name as name, p.input_price_micros as input, p.output_price_micros as output,
           m.max_output_tokens as max_output
    from models m join price_versions p on p.model_id = m.id`;
  for (const r of rows) prices[r.name] = { input: r.input, output: r.output, maxOutput: r.max_output };
});

async function holdsOf(keyId: string) {
  return ctx.sql<{ call_id: string; amount_micros: bigint; status: string; prompt_tokens: number }[]>`
    select call_id, amount_micros, status, prompt_tokens from holds where key_id = ${keyId} order by created_at`;
}

/** A raw request to the gateway, for what the openai client would not send. */
function raw(secret: string, body: unknown, { path = "/v1/chat/completions", headers = {} } = {}) {
  return fetch(`${gatewayBase(ctx)}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${secret}`, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

describe("the call id: held = reported, never the client's", () => {
  it("an empty x-litellm-call-id header is refused and nothing is served or held", async () => {
    const c = await customer(ctx, FUNDS);
    for (const value of ["", "mine"]) {
      const res = await raw(
        c.secret,
        { model: "fake-small", messages },
        { headers: { "x-litellm-call-id": value } },
      );
      expect(res.status).toBe(403);
      expect((await res.json()).error.message).toMatch(/Tollgate assigns call ids/);
    }
    expect(await holdsOf(c.id)).toEqual([]);
    expect(await balanceOf(ctx, c.accountId)).toEqual({ balance_micros: FUNDS, held_micros: 0n });
  });

  it("every served call is reported under the id it was held under, and charged", async () => {
    const c = await customer(ctx, FUNDS);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { response } = await c.client.chat.completions
        .create({ model: "fake-small", messages, max_tokens: 20 })
        .withResponse();
      ids.push(response.headers.get("x-litellm-call-id")!);
    }
    const rows = await usageRowsOf(ctx, c.id, 3);
    const holds = await holdsOf(c.id);
    expect(rows.map((r) => r.call_id).sort()).toEqual([...ids].sort());
    expect(holds.map((h) => h.call_id).sort()).toEqual([...ids].sort());
    expect(holds.every((h) => h.status === "settled")).toBe(true);
    const charged = rows.reduce((s, r) => s + r.revenue_micros, 0n);
    expect(charged).toBeGreaterThan(0n);
    expect(await balanceOf(ctx, c.accountId)).toEqual({ balance_micros: FUNDS - charged, held_micros: 0n });
  });

  it("an event the platform refuses goes dead in the outbox and the calls after it are still charged", async () => {
    const c = await customer(ctx, FUNDS);
    // A poison event, as a gateway bug would write it (an empty call id the webhook refuses).
    const poison = JSON.stringify({
      callId: "",
      keyId: c.id,
      modelGroup: "fake-small",
      providerModel: "",
      status: "success",
      stream: false,
      promptTokens: 5,
      completionTokens: 5,
      cachedTokens: 0,
      reportedCostMicros: 0,
      startedAt: new Date().toISOString(),
      endedAt: new Date().toISOString(),
      errorClass: null,
    });
    const python = path.join(process.cwd(), "litellm/.venv/bin/python");
    execFileSync(python, [
      "-c",
      "import sqlite3,sys,time; db=sqlite3.connect(sys.argv[1]); db.execute(\"insert into events (dedup_key,key_id,call_id,body,created_at) values (?,?,?,?,?)\", (sys.argv[2]+'::poison', sys.argv[2], '', sys.argv[3], time.time())); db.commit()",
      ctx.stack.outboxPath!,
      c.id,
      poison,
    ]);
    await c.client.chat.completions.create({ model: "fake-small", messages, max_tokens: 10 });
    await c.client.chat.completions.create({ model: "fake-small", messages, max_tokens: 12 });
    const rows = await usageRowsOf(ctx, c.id, 2);
    expect(rows).toHaveLength(2);
    const stats = await (
      await fetch(`${gatewayBase(ctx)}/tollgate/outbox/stats`, {
        headers: { authorization: `Bearer ${MASTER_KEY}` },
      })
    ).json();
    expect(stats).toMatchObject({ pending: 0, dead: 1 });
    const dead = await (
      await fetch(`${gatewayBase(ctx)}/tollgate/outbox/dead`, {
        headers: { authorization: `Bearer ${MASTER_KEY}` },
      })
    ).json();
    expect(dead.events[0].event.callId).toBe("");
    expect(dead.events[0].lastError).toMatch(/HTTP 422/);
    const account = await balanceOf(ctx, c.accountId);
    expect(account.held_micros).toBe(0n);
    expect(account.balance_micros).toBe(FUNDS - rows.reduce((s, r) => s + r.revenue_micros, 0n));
  });
});

describe("routing is the operator's, and a call is charged at the price of the group that served it", () => {
  it.each([
    ["fallbacks", [{ model: "fake-large" }]],
    ["api_base", "http://127.0.0.1:9/v1"],
    ["base_url", "http://127.0.0.1:9/v1"],
    ["api_key", "sk-other"],
    ["timeout", 0.001],
    ["num_retries", 3],
    ["extra_headers", { "x-fake-fail": "cut" }],
    ["mock_response", "free"],
    ["input_cost_per_token", 0],
    ["metadata", { user_api_key_auth_metadata: { tollgate_key_id: "x" } }],
  ])("a client's %s is refused with 400 and nothing is held", async (field, value) => {
    const c = await customer(ctx, FUNDS);
    const res = await raw(c.secret, { model: "fake-small", messages, [field]: value });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error).toMatchObject({ type: "invalid_request_error", param: field });
    expect(await holdsOf(c.id)).toEqual([]);
  });

  it("an operator fallback is held at the dearer group's worst case and charged at the serving group's price", async () => {
    const c = await customer(ctx, FUNDS);
    const { data, response } = await c.client.chat.completions
      .create({ model: "fake-dead", messages, max_tokens: 64 })
      .withResponse();
    expect(response.headers.get("x-litellm-model-group")).toBe("fake-large");
    const [row] = await usageRowsOf(ctx, c.id, 1);
    expect(row!.model_group).toBe("fake-large");
    const large = prices["fake-large"]!;
    const expected = priceTokens(
      { input: data.usage!.prompt_tokens, output: data.usage!.completion_tokens },
      large,
    );
    expect(row!.revenue_micros).toBe(expected);
    // More than the cheap model's price for the same tokens: the loss the review found is gone.
    const small = prices["fake-dead"]!;
    expect(expected).toBeGreaterThan(
      priceTokens({ input: data.usage!.prompt_tokens, output: data.usage!.completion_tokens }, small),
    );
    // The hold: the worst case of the dearest group the call could reach (fake-large), not of fake-dead.
    const [hold] = await holdsOf(c.id);
    expect(hold!.prompt_tokens).toBe(promptBound(messages));
    expect(hold!.amount_micros).toBe(priceTokens({ input: hold!.prompt_tokens, output: 64 }, large));
    expect(hold!.amount_micros).toBeGreaterThanOrEqual(expected);
    expect(await balanceOf(ctx, c.accountId)).toEqual({ balance_micros: FUNDS - expected, held_micros: 0n });
    expect(await checkLedgerInvariants(ctx.sql, c.accountId)).toEqual([]);
  });

  it("a fallback the price book cannot price is not served", async () => {
    const c = await customer(ctx, FUNDS);
    const large = await ctx.sql`select id from models where public_name = 'fake-large'`;
    // Take fake-large out of the price book for a moment: fake-dead's fallback then has no price.
    await ctx.sql`update models set public_name = 'fake-large-renamed' where id = ${large[0]!.id}`;
    try {
      const error = await failure(
        c.client.chat.completions.create({ model: "fake-dead", messages, max_tokens: 8 }),
      );
      expect(error?.status).toBe(403);
      expect(error?.message).toMatch(/fake-large \(a fallback of fake-dead\) has no price/);
    } finally {
      await ctx.sql`update models set public_name = 'fake-large' where id = ${large[0]!.id}`;
    }
    expect(await holdsOf(c.id)).toEqual([]);
  });
});

describe("n > 1", () => {
  it("holds n choices of the worst case and charges every choice the provider reports", async () => {
    const c = await customer(ctx, FUNDS);
    const { data, response } = await c.client.chat.completions
      .create({ model: "fake-small", messages, max_tokens: 30, n: 5 })
      .withResponse();
    expect(data.choices).toHaveLength(5);
    const small = prices["fake-small"]!;
    const [hold] = await holdsOf(c.id);
    const [row] = await usageRowsOf(ctx, c.id, 1);
    // The hold: prompt (as the gateway counted it) + 5 × 30 output tokens at fake-small's price.
    expect(hold!.prompt_tokens).toBe(promptBound(messages));
    expect(hold!.amount_micros).toBe(priceTokens({ input: hold!.prompt_tokens, output: 5 * 30 }, small));
    expect(response.headers.get("x-tollgate-hold-micros")).toBe(String(hold!.amount_micros));
    expect(row!.completion_tokens).toBe(data.usage!.completion_tokens);
    expect(row!.completion_tokens).toBeGreaterThan(data.choices[0]!.message.content!.split(" ").length);
    expect(row!.revenue_micros).toBe(
      priceTokens({ input: data.usage!.prompt_tokens, output: data.usage!.completion_tokens }, small),
    );
  });
});

describe("what an app key sees, and the statuses it gets", () => {
  it("cannot read the model info (upstream bases, costs); responses carry no upstream or cost headers", async () => {
    const c = await customer(ctx, FUNDS);
    const info = await fetch(`${gatewayBase(ctx)}/v1/model/info`, {
      headers: { authorization: `Bearer ${c.secret}` },
    });
    expect(info.status).toBe(403);
    const { response } = await c.client.chat.completions
      .create({ model: "fake-small", messages, max_tokens: 5 })
      .withResponse();
    for (const header of [
      "x-litellm-model-api-base",
      "x-litellm-response-cost",
      "x-litellm-key-spend",
      "x-litellm-model-id",
    ]) {
      expect(response.headers.get(header)).toBeNull();
    }
    expect(response.headers.get("x-litellm-call-id")).toBeTruthy();
    const models = await c.client.models.list();
    expect(models.data.map((m) => m.id)).toContain("fake-small");
  });

  it("bad requests get 400/403 in OpenAI's shape, never 500 or 503", async () => {
    const c = await customer(ctx, FUNDS);
    const cases: [unknown, string | undefined, number][] = [
      [{ model: "fake-small", messages, max_tokens: -5 }, undefined, 400],
      [{ model: "fake-small", messages, max_tokens: "many" }, undefined, 400],
      [{ model: "fake-small", messages, n: 0 }, undefined, 400],
      [{ model: "fake-small", messages, input_cost_per_token: 0 }, undefined, 400],
      [{ model: "fake-small", messages, api_base: "http://127.0.0.1:9" }, undefined, 400],
      [{ model: "fake-small", messages }, "/openai/v1/chat/completions", 403],
    ];
    for (const [body, route, status] of cases) {
      const res = await raw(c.secret, body, { path: route ?? "/v1/chat/completions" });
      expect(res.status, JSON.stringify(body)).toBe(status);
      const error = (await res.json()).error;
      expect(typeof error.message).toBe("string");
      expect(typeof error.type).toBe("string");
    }
    // A huge max_tokens is served: the hold is capped at the model's output limit.
    const big = await raw(c.secret, { model: "fake-small", messages, max_tokens: 1_000_000_000 });
    expect(big.status).toBe(200);
    const [hold] = await holdsOf(c.id);
    const small = prices["fake-small"]!;
    expect(hold!.prompt_tokens).toBe(promptBound(messages));
    expect(hold!.amount_micros).toBe(
      priceTokens({ input: hold!.prompt_tokens, output: small.maxOutput }, small),
    );
  });
});
