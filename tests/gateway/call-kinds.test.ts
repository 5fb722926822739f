// Call kinds beyond chat through the real LiteLLM proxy with Tollgate keys and the official openai client:
// embeddings are reserved (a lease draw or a hold) for their input tokens, charged once for the input tokens the
// upstream reports, never for a failure; the event says what kind of call it was.
import Anthropic from "@anthropic-ai/sdk";
import { beforeAll, describe, expect, it } from "vitest";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { DEMO_MODELS } from "@/lib/seed/demo";
import { priceTokens } from "../helpers/price";
import {
  addTestModels,
  balanceOf,
  customer,
  failure,
  settledBalance,
  startGatewayStack,
  usageRowsOf,
} from "./helpers";

const ctx = startGatewayStack(
  "gateway-call-kinds",
  { app: 3207, pg: 25445, litellm: 4108, upstream: 4118 },
  undefined,
  { TOLLGATE_LEASE_IDLE_SECONDS: "1" },
);
// fake-embed is in the demo catalog the stack seeds; its price per million input tokens.
const EMBED_PRICE = DEMO_MODELS.find((m) => m.name === "fake-embed")!.price;
const SMALL_PRICE = DEMO_MODELS.find((m) => m.name === "fake-small")!.price;
beforeAll(() => addTestModels(ctx, ["fake-embed-error"]));

describe("embeddings", () => {
  it("are charged the price book × the input tokens the upstream reports, once; the event is an embedding", async () => {
    const c = await customer(ctx, 1_000_000n);
    const single = await c.client.embeddings.create({
      model: "fake-embed",
      input: "meter every call exactly once",
    });
    expect(single.data).toHaveLength(1);
    expect(single.data[0]!.embedding).toHaveLength(8);
    const batch = await c.client.embeddings.create({
      model: "fake-embed",
      input: ["first text to embed", "second one", "and a third text here"],
      encoding_format: "float",
    });
    expect(batch.data.map((d) => d.index)).toEqual([0, 1, 2]);
    const rows = await usageRowsOf(ctx, c.id, 2);
    expect(rows.map((r) => [r.status, r.billing_status, r.completion_tokens])).toEqual([
      ["success", "exact", 0],
      ["success", "exact", 0],
    ]);
    const reported = single.usage.prompt_tokens + batch.usage.prompt_tokens;
    expect(rows.reduce((n, r) => n + r.prompt_tokens, 0)).toBe(reported);
    // Each call rounds up once, to the micro-USD.
    const expected =
      priceTokens({ input: single.usage.prompt_tokens, output: 0 }, EMBED_PRICE) +
      priceTokens({ input: batch.usage.prompt_tokens, output: 0 }, EMBED_PRICE);
    expect(expected).toBeGreaterThan(0n);
    expect(await settledBalance(ctx, c.accountId)).toEqual({
      balance_micros: 1_000_000n - expected,
      held_micros: 0n,
    });
    const kinds = await ctx.sql<
      { kind: string }[]
    >`select distinct kind from usage_events where key_id = ${c.id}`;
    expect(kinds).toEqual([{ kind: "embedding" }]);
    expect(await checkLedgerInvariants(ctx.sql, c.accountId)).toEqual([]);
  });

  it("a failed embeddings call charges nothing and releases its reservation", async () => {
    const c = await customer(ctx, 1_000_000n);
    const error = await failure(
      c.client.embeddings.create({ model: "fake-embed-error", input: "this fails upstream" }),
    );
    expect(error?.status).toBeGreaterThanOrEqual(500);
    const rows = await usageRowsOf(ctx, c.id, 1);
    expect(rows).toMatchObject([{ status: "failure", billing_status: "waived", revenue_micros: 0n }]);
    expect(await settledBalance(ctx, c.accountId)).toEqual({ balance_micros: 1_000_000n, held_micros: 0n });
  });

  it("refuses bodies it cannot bill before anything is reserved", async () => {
    const c = await customer(ctx, 1_000_000n);
    for (const body of [
      { model: "fake-embed", input: "" },
      { model: "fake-embed", input: [] },
      { model: "fake-embed", input: [1, "two"] },
      { model: "fake-embed", input: "x", api_base: "http://attacker.example" },
      { model: "fake-embed", input: "x", metadata: { tollgate: {} } },
      { model: "fake-embed", input: "x", dimensions: 0 },
    ]) {
      const res = await fetch(`${ctx.stack.gatewayUrl}/embeddings`, {
        method: "POST",
        headers: { authorization: `Bearer ${c.secret}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    expect((await ctx.sql`select count(*)::int as n from usage_events where key_id = ${c.id}`)[0]!.n).toBe(0);
    expect(await balanceOf(ctx, c.accountId)).toEqual({ balance_micros: 1_000_000n, held_micros: 0n });
  });
});

describe("Anthropic Messages (/v1/messages, the official @anthropic-ai/sdk client)", () => {
  it("a message and a streamed message are each charged the price book × the tokens reported, once", async () => {
    const c = await customer(ctx, 1_000_000n);
    // The SDK sends its key as x-api-key, as apps written for Anthropic do.
    const client = new Anthropic({
      baseURL: ctx.stack.gatewayUrl!.replace(/\/v1$/, ""),
      apiKey: c.secret,
      maxRetries: 0,
    });
    const message = await client.messages.create({
      model: "fake-small",
      max_tokens: 24,
      system: "You are terse.",
      messages: [{ role: "user", content: "How are calls billed?" }],
    });
    expect(message.type).toBe("message");
    expect(message.content[0]!.type).toBe("text");
    let input = 0;
    let output = 0;
    const stream = await client.messages.create({
      model: "fake-small",
      max_tokens: 16,
      stream: true,
      messages: [{ role: "user", content: "Stream the answer." }],
    });
    let text = "";
    for await (const event of stream) {
      if (event.type === "message_start") input = event.message.usage.input_tokens;
      if (event.type === "message_delta") {
        output = event.usage.output_tokens;
        // The upstream's input count arrives with the last delta (message_start's is an estimate, or 0).
        if (event.usage.input_tokens) input = event.usage.input_tokens;
      }
      if (event.type === "content_block_delta" && event.delta.type === "text_delta") text += event.delta.text;
    }
    expect(text.length).toBeGreaterThan(0);
    const rows = await usageRowsOf(ctx, c.id, 2);
    expect(rows.map((r) => r.billing_status)).toEqual(["exact", "exact"]);
    const expected =
      priceTokens({ input: message.usage.input_tokens, output: message.usage.output_tokens }, SMALL_PRICE) +
      priceTokens({ input, output }, SMALL_PRICE);
    expect(expected).toBeGreaterThan(0n);
    expect(await settledBalance(ctx, c.accountId)).toEqual({
      balance_micros: 1_000_000n - expected,
      held_micros: 0n,
    });
    const kinds = await ctx.sql<
      { kind: string }[]
    >`select distinct kind from usage_events where key_id = ${c.id}`;
    expect(kinds).toEqual([{ kind: "messages" }]);
    expect(await checkLedgerInvariants(ctx.sql, c.accountId)).toEqual([]);
  });

  it("refuses a body without max_tokens, or with LiteLLM's own fields, before anything is reserved", async () => {
    const c = await customer(ctx, 1_000_000n);
    for (const body of [
      { model: "fake-small", messages: [{ role: "user", content: "hi" }] },
      {
        model: "fake-small",
        max_tokens: 10,
        messages: [{ role: "user", content: "hi" }],
        metadata: { user_id: "u" },
      },
      {
        model: "fake-small",
        max_tokens: 10,
        messages: [{ role: "user", content: "hi" }],
        api_base: "http://x",
      },
      { model: "fake-small", max_tokens: 0, messages: [{ role: "user", content: "hi" }] },
    ]) {
      const res = await fetch(`${ctx.stack.gatewayUrl}/messages`, {
        method: "POST",
        headers: { "x-api-key": c.secret, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    expect(await balanceOf(ctx, c.accountId)).toEqual({ balance_micros: 1_000_000n, held_micros: 0n });
  });
});

describe("the Responses API (/v1/responses, the official openai client)", () => {
  it("a response and a streamed response are each charged the price book × the tokens reported, once", async () => {
    const c = await customer(ctx, 1_000_000n);
    const response = await c.client.responses.create({
      model: "fake-small",
      instructions: "Answer in a sentence.",
      input: "What does a gateway meter?",
      max_output_tokens: 20,
    });
    expect(response.output_text.length).toBeGreaterThan(0);
    const stream = await c.client.responses.create({
      model: "fake-small",
      input: [{ role: "user", content: "Stream it, please." }],
      max_output_tokens: 12,
      stream: true,
    });
    let deltas = 0;
    let usage: { input_tokens: number; output_tokens: number } | undefined;
    for await (const event of stream) {
      if (event.type === "response.output_text.delta") deltas++;
      if (event.type === "response.completed") usage = event.response.usage ?? undefined;
    }
    expect(deltas).toBeGreaterThan(1);
    const rows = await usageRowsOf(ctx, c.id, 2);
    expect(rows.map((r) => r.billing_status)).toEqual(["exact", "exact"]);
    const expected =
      priceTokens(
        { input: response.usage!.input_tokens, output: response.usage!.output_tokens },
        SMALL_PRICE,
      ) + priceTokens({ input: usage!.input_tokens, output: usage!.output_tokens }, SMALL_PRICE);
    expect(await settledBalance(ctx, c.accountId)).toEqual({
      balance_micros: 1_000_000n - expected,
      held_micros: 0n,
    });
    const kinds = await ctx.sql<
      { kind: string }[]
    >`select distinct kind from usage_events where key_id = ${c.id}`;
    expect(kinds).toEqual([{ kind: "responses" }]);
  });

  it("refuses a stateful or LiteLLM-steering body before anything is reserved", async () => {
    const c = await customer(ctx, 1_000_000n);
    for (const body of [
      { model: "fake-small", input: "" },
      { model: "fake-small", input: "hi", previous_response_id: "resp_1" },
      { model: "fake-small", input: "hi", metadata: { a: "b" } },
      { model: "fake-small", input: "hi", max_output_tokens: 0 },
    ]) {
      const res = await fetch(`${ctx.stack.gatewayUrl}/responses`, {
        method: "POST",
        headers: { authorization: `Bearer ${c.secret}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    expect(await balanceOf(ctx, c.accountId)).toEqual({ balance_micros: 1_000_000n, held_micros: 0n });
  });
});
