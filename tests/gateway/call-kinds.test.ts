// Call kinds beyond chat through the real LiteLLM proxy with Tollgate keys and the official openai (and Anthropic)
// clients: embeddings, Messages, Responses, legacy completions, images, speech and transcription are each reserved
// (a lease draw or a hold) for their worst case, charged once for the units the upstream reports, never for a
// failure; the event says what kind of call it was. Token classes (cached, cache write, reasoning) at their rates;
// images at the rate of their size and quality; a stream of each streaming kind cut by the client is estimated.
import Anthropic from "@anthropic-ai/sdk";
import { toFile } from "openai";
import { beforeAll, describe, expect, it } from "vitest";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { DEMO_MODELS } from "@/lib/seed/demo";
import { wav } from "../helpers/audio";
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
beforeAll(async () => {
  await addTestModels(
    ctx,
    [
      "fake-embed-error",
      "fake-image-error",
      "fake-tts-error",
      "fake-whisper-error",
      "fake-error-500",
      "fake-instruct-slow",
      "fake-instruct-error",
    ],
    // Each failing model is sold by its healthy twin's unit (clause 44: a route is served only where it is billed).
  );
});

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

  it("a failed message, streamed or not, charges nothing and releases its reservation", async () => {
    const c = await customer(ctx, 1_000_000n);
    const client = new Anthropic({
      baseURL: ctx.stack.gatewayUrl!.replace(/\/v1$/, ""),
      apiKey: c.secret,
      maxRetries: 0,
    });
    const ask = {
      model: "fake-error-500",
      max_tokens: 32,
      messages: [{ role: "user" as const, content: "hi" }],
    };
    const plain = await client.messages.create(ask).catch((e: unknown) => e);
    expect(plain).toBeInstanceOf(Anthropic.APIError);
    expect((plain as InstanceType<typeof Anthropic.APIError>).status).toBeGreaterThanOrEqual(500);
    const streamed = await drain(client.messages.create({ ...ask, stream: true })).catch((e: unknown) => e);
    expect(streamed).toBeInstanceOf(Anthropic.APIError);
    await expectNothingCharged(c, 2, "messages");
  });
});

/** Reads a stream to its end (or its error: a stream whose upstream fails before the first token throws). */
async function drain(stream: Promise<AsyncIterable<unknown>>) {
  for await (const _ of await stream) {
    // nothing to keep
  }
}

/** The calls of a key all failed: recorded as failures, charged 0, nothing left reserved, the ledger whole. */
async function expectNothingCharged(c: { id: string; accountId: string }, calls: number, kind: string) {
  const rows = await usageRowsOf(ctx, c.id, calls);
  expect(rows).toHaveLength(calls);
  for (const row of rows)
    expect(row).toMatchObject({ status: "failure", billing_status: "waived", revenue_micros: 0n });
  expect(
    (await ctx.sql`select distinct kind from usage_events where key_id = ${c.id}`).map((r) => r.kind),
  ).toEqual([kind]);
  expect(await settledBalance(ctx, c.accountId)).toEqual({ balance_micros: 1_000_000n, held_micros: 0n });
  expect(await checkLedgerInvariants(ctx.sql, c.accountId)).toEqual([]);
}

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

  it("a failed response, streamed or not, charges nothing and releases its reservation", async () => {
    const c = await customer(ctx, 1_000_000n);
    const ask = { model: "fake-error-500", input: "hi", max_output_tokens: 32 };
    expect((await failure(c.client.responses.create(ask)))?.status).toBeGreaterThanOrEqual(500);
    const streamed = await failure(drain(c.client.responses.create({ ...ask, stream: true })));
    expect(streamed?.status).toBeGreaterThanOrEqual(500);
    await expectNothingCharged(c, 2, "responses");
  });
});

const demo = (name: string) => DEMO_MODELS.find((m) => m.name === name)!;

/** Each row's kind, outcome and units (a zero count is stored as null, docs/adr/0033: read as 0). */
async function unitsOf(keyId: string, count: number) {
  await usageRowsOf(ctx, keyId, count);
  return ctx.sql<
    {
      kind: string;
      status: string;
      billing_status: string;
      images: number;
      audio_ms: bigint;
      characters: number;
      revenue_micros: bigint;
    }[]
  >`select kind, status, billing_status(status) as billing_status, coalesce(images, 0) as images, coalesce(audio_ms, 0) as audio_ms,
           coalesce(characters, 0) as characters, revenue_micros
    from usage_events where key_id = ${keyId} order by started_at, id`;
}

describe("legacy completions (/v1/completions)", () => {
  it("a completion and a streamed one are charged the price book × the tokens reported, every prompt and best_of", async () => {
    const c = await customer(ctx, 1_000_000n);
    const price = demo("fake-instruct").price;
    const plain = await c.client.completions.create({
      model: "fake-instruct",
      prompt: ["Once upon a time", "In a galaxy far away"],
      max_tokens: 12,
      n: 1,
      best_of: 2,
    });
    expect(plain.choices).toHaveLength(2);
    const stream = await c.client.completions.create({
      model: "fake-instruct",
      prompt: "Stream a short line",
      max_tokens: 10,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: { prompt_tokens: number; completion_tokens: number } | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text.length).toBeGreaterThan(0);
    expect(usage).toBeDefined();
    // best_of: 2 generations per prompt are billed though one per prompt is returned.
    expect(plain.usage!.completion_tokens).toBeGreaterThan(
      plain.choices.reduce((n, ch) => n + ch.text.split(" ").length, 0),
    );
    const expected =
      priceTokens({ input: plain.usage!.prompt_tokens, output: plain.usage!.completion_tokens }, price) +
      priceTokens({ input: usage!.prompt_tokens, output: usage!.completion_tokens }, price);
    const rows = await usageRowsOf(ctx, c.id, 2);
    expect(rows.map((r) => r.billing_status)).toEqual(["exact", "exact"]);
    expect(await settledBalance(ctx, c.accountId)).toEqual({
      balance_micros: 1_000_000n - expected,
      held_micros: 0n,
    });
    expect((await unitsOf(c.id, 2)).map((r) => r.kind)).toEqual(["completion", "completion"]);
  });

  it("a failed completion, streamed or not, charges nothing and releases its reservation", async () => {
    const c = await customer(ctx, 1_000_000n);
    const ask = { model: "fake-instruct-error", prompt: "Once upon a time", max_tokens: 12 };
    expect((await failure(c.client.completions.create(ask)))?.status).toBeGreaterThanOrEqual(500);
    const streamed = await failure(drain(c.client.completions.create({ ...ask, stream: true })));
    expect(streamed?.status).toBeGreaterThanOrEqual(500);
    await expectNothingCharged(c, 2, "completion");
  });
});

describe("images (/v1/images/generations)", () => {
  it("are charged per image the upstream made; a failed call charges nothing and releases its reservation", async () => {
    const c = await customer(ctx, 1_000_000n);
    const made = await c.client.images.generate({
      model: "fake-image",
      prompt: "a lighthouse at dusk",
      n: 2,
      size: "1024x1024",
    });
    expect(made.data).toHaveLength(2);
    expect(made.data![0]!.b64_json).toMatch(/^iVBOR/); // a PNG
    const error = await failure(c.client.images.generate({ model: "fake-image-error", prompt: "x" }));
    expect(error?.status).toBeGreaterThanOrEqual(500);
    const imagePrice = demo("fake-image").units!.image_price_micros!;
    expect(await unitsOf(c.id, 2)).toEqual([
      {
        kind: "image",
        status: "success",
        billing_status: "exact",
        images: 2,
        audio_ms: 0n,
        characters: 0,
        revenue_micros: 2n * imagePrice,
      },
      expect.objectContaining({ kind: "image", status: "failure", revenue_micros: 0n }),
    ]);
    expect(await settledBalance(ctx, c.accountId)).toEqual({
      balance_micros: 1_000_000n - 2n * imagePrice,
      held_micros: 0n,
    });
  });

  it("are reserved and charged at the rate of the size and quality asked for", async () => {
    const c = await customer(ctx, 1_000_000n);
    const rates = demo("fake-image").imageRates!;
    const rate = (size: string | null, quality: string | null) =>
      BigInt(rates.find((r) => r.size === size && r.quality === quality)!.price_micros);
    const wideHd = await c.client.images.generate({
      model: "fake-image",
      prompt: "a wide lighthouse",
      n: 2,
      size: "1792x1024",
      quality: "hd",
    });
    expect(wideHd.data).toHaveLength(2);
    await c.client.images.generate({ model: "fake-image", prompt: "a tall one", size: "1024x1792" });
    await c.client.images.generate({ model: "fake-image", prompt: "a sharp one", quality: "hd" });
    await c.client.images.generate({ model: "fake-image", prompt: "a plain one" });
    await usageRowsOf(ctx, c.id, 4);
    const rows = await ctx.sql<
      {
        image_size: string | null;
        image_quality: string | null;
        images: number;
        revenue_micros: bigint;
        draw_micros: bigint | null;
        hold: bigint | null;
      }[]
    >`select u.image_size, u.image_quality, u.images, u.revenue_micros, u.draw_micros, h.amount_micros as hold
      from usage_events u left join holds h on h.id = u.hold_id
      where u.key_id = ${c.id} and u.status = 'success' order by u.started_at`;
    const plain = demo("fake-image").units!.image_price_micros!;
    // $0.12 × 2 wide HD images, $0.08 a tall one, $0.08 an HD one of the default size, $0.04 the default.
    expect(rows.map((r) => [r.image_size, r.image_quality, r.images, r.revenue_micros])).toEqual([
      ["1792x1024", "hd", 2, 2n * rate("1792x1024", "hd")],
      ["1024x1792", null, 1, rate("1024x1792", null)],
      [null, "hd", 1, rate(null, "hd")],
      [null, null, 1, plain],
    ]);
    expect(rate("1792x1024", "hd")).toBe(3n * plain);
    // The reservation (a lease draw or a hold) was the charge: images priced at their size are its whole worst case.
    for (const row of rows) expect(row.draw_micros ?? row.hold).toBe(row.revenue_micros);
    expect(await settledBalance(ctx, c.accountId)).toEqual({
      balance_micros: 1_000_000n - rows.reduce((n, r) => n + r.revenue_micros, 0n),
      held_micros: 0n,
    });
  });
});

describe("speech and transcription (/v1/audio/speech, /v1/audio/transcriptions)", () => {
  it("speech is charged per character of its input; a failure charges nothing", async () => {
    const c = await customer(ctx, 1_000_000n);
    const input = "Tollgate meters every call exactly once.";
    const audio = await c.client.audio.speech.create({ model: "fake-tts", voice: "alloy", input });
    expect((await audio.arrayBuffer()).byteLength).toBe(input.length * 16);
    expect(
      (await failure(c.client.audio.speech.create({ model: "fake-tts-error", voice: "alloy", input })))
        ?.status,
    ).toBeGreaterThanOrEqual(500);
    const rate = demo("fake-tts").units!.character_price_micros!;
    const charge = (BigInt(input.length) * rate + 999_999n) / 1_000_000n;
    expect(await unitsOf(c.id, 2)).toEqual([
      expect.objectContaining({
        kind: "speech",
        status: "success",
        characters: input.length,
        revenue_micros: charge,
      }),
      expect.objectContaining({ kind: "speech", status: "failure", revenue_micros: 0n }),
    ]);
    expect(await settledBalance(ctx, c.accountId)).toEqual({
      balance_micros: 1_000_000n - charge,
      held_micros: 0n,
    });
  });

  it("a transcription is charged per second of the audio the upstream reports; a failure charges nothing", async () => {
    const c = await customer(ctx, 1_000_000n);
    const heard = await c.client.audio.transcriptions.create({
      model: "fake-whisper",
      file: await toFile(wav(2.5), "hello.wav", { type: "audio/wav" }),
    });
    expect(heard.text).toBe("fake transcription of 2.50 seconds");
    const error = await failure(
      c.client.audio.transcriptions.create({
        model: "fake-whisper-error",
        file: await toFile(wav(1), "hello.wav", { type: "audio/wav" }),
      }),
    );
    expect(error?.status).toBeGreaterThanOrEqual(500);
    const rate = demo("fake-whisper").units!.audio_second_price_micros!;
    const charge = (2_500n * rate * 1000n + 999_999n) / 1_000_000n; // 2.5 s
    expect(await unitsOf(c.id, 2)).toEqual([
      expect.objectContaining({
        kind: "transcription",
        status: "success",
        audio_ms: 2_500n,
        revenue_micros: charge,
      }),
      expect.objectContaining({ kind: "transcription", status: "failure", revenue_micros: 0n }),
    ]);
    expect(await settledBalance(ctx, c.accountId)).toEqual({
      balance_micros: 1_000_000n - charge,
      held_micros: 0n,
    });
  });

  it("a transcription form with LiteLLM's own fields, or too large a file, is refused before anything is reserved", async () => {
    const c = await customer(ctx, 1_000_000n);
    const form = new FormData();
    form.set("model", "fake-whisper");
    form.set("api_base", "http://attacker.example");
    form.set("file", new Blob([new Uint8Array(wav(0.5))], { type: "audio/wav" }), "a.wav");
    const res = await fetch(`${ctx.stack.gatewayUrl}/audio/transcriptions`, {
      method: "POST",
      headers: { authorization: `Bearer ${c.secret}` },
      body: form,
    });
    expect(res.status).toBe(400);
    expect((await res.json()).error.param).toBe("api_base");
    expect(await balanceOf(ctx, c.accountId)).toEqual({ balance_micros: 1_000_000n, held_micros: 0n });
  });
});

describe("token classes (a prompt-caching reasoning model)", () => {
  it("cached reads, cache writes and reasoning tokens are each charged at their own rate, each token once", async () => {
    const c = await customer(ctx, 1_000_000n);
    const res = await c.client.chat.completions.create({
      model: "fake-cache",
      messages: [
        { role: "system", content: "A long system prompt the provider caches between calls of this app." },
        { role: "user", content: "What is cached?" },
      ],
      max_tokens: 30,
    });
    const prompt = res.usage!.prompt_tokens;
    const completion = res.usage!.completion_tokens;
    // The fake upstream's classes: half the prompt read from cache, a quarter written to it, a third reasoning.
    const cached = Math.floor(prompt / 2);
    const written = Math.floor(prompt / 4);
    const reasoning = Math.floor(completion / 3);
    expect(res.usage!.prompt_tokens_details?.cached_tokens).toBe(cached);
    expect(res.usage!.completion_tokens_details?.reasoning_tokens).toBe(reasoning);
    const { price, units } = demo("fake-cache");
    const expected =
      (BigInt(prompt - cached - written) * price.input +
        BigInt(cached) * units!.cached_input_price_micros! +
        BigInt(written) * units!.cache_write_price_micros! +
        BigInt(completion - reasoning) * price.output +
        BigInt(reasoning) * units!.reasoning_price_micros! +
        999_999n) /
      1_000_000n;
    await usageRowsOf(ctx, c.id, 1);
    const [row] = await ctx.sql<
      {
        cached_tokens: number;
        cache_write_tokens: number;
        reasoning_tokens: number;
        revenue_micros: bigint;
      }[]
    >`select coalesce(cached_tokens, 0) as cached_tokens, coalesce(cache_write_tokens, 0) as cache_write_tokens,
              coalesce(reasoning_tokens, 0) as reasoning_tokens, revenue_micros
       from usage_events where key_id = ${c.id}`;
    expect(row).toEqual({
      cached_tokens: cached,
      cache_write_tokens: written,
      reasoning_tokens: reasoning,
      revenue_micros: expected,
    });
    expect(await settledBalance(ctx, c.accountId)).toEqual({
      balance_micros: 1_000_000n - expected,
      held_micros: 0n,
    });
    expect(await checkLedgerInvariants(ctx.sql, c.accountId)).toEqual([]);
  });
});

describe("a stream the client cuts short", () => {
  /** Reads a stream until `deltas` text deltas arrived, then aborts it as a client would (closing the connection). */
  async function cutAfter(
    deltas: number,
    open: (signal: AbortSignal) => Promise<AsyncIterable<unknown>>,
    isText: (e: any) => boolean,
  ) {
    const controller = new AbortController();
    let seen = 0;
    try {
      for await (const event of await open(controller.signal)) {
        if (isText(event) && ++seen >= deltas) controller.abort();
      }
    } catch {
      // the abort ends the iteration
    }
    return seen;
  }

  it("a Responses stream is charged as estimated for what was delivered", async () => {
    const c = await customer(ctx, 1_000_000n);
    const seen = await cutAfter(
      3,
      (signal) =>
        c.client.responses.create(
          {
            model: "fake-slow",
            input: "Write at length about metering.",
            max_output_tokens: 400,
            stream: true,
          },
          { signal },
        ),
      (e) => e.type === "response.output_text.delta",
    );
    expect(seen).toBe(3);
    const [row] = await usageRowsOf(ctx, c.id, 1, 30_000);
    expect(row).toMatchObject({ status: "cut", billing_status: "estimated" });
    expect(row!.revenue_micros).toBeGreaterThan(0n);
    expect(row!.completion_tokens).toBeLessThan(47); // the fake model's full answer is 16–47 tokens
    expect(await settledBalance(ctx, c.accountId)).toEqual({
      balance_micros: 1_000_000n - row!.revenue_micros,
      held_micros: 0n,
    });
  });

  it("a legacy completions stream is charged as estimated for what was delivered", async () => {
    const c = await customer(ctx, 1_000_000n);
    const seen = await cutAfter(
      3,
      (signal) =>
        c.client.completions.create(
          {
            model: "fake-instruct-slow",
            prompt: "Write at length about metering.",
            max_tokens: 400,
            stream: true,
          },
          { signal },
        ),
      (e) => Boolean(e.choices?.[0]?.text),
    );
    expect(seen).toBe(3);
    const [row] = await usageRowsOf(ctx, c.id, 1, 30_000);
    expect(row).toMatchObject({ status: "cut", billing_status: "estimated" });
    expect(row!.revenue_micros).toBeGreaterThan(0n);
    expect(row!.completion_tokens).toBeGreaterThan(0);
    expect(row!.completion_tokens).toBeLessThan(16); // the fake model's full answer is 16–47 tokens
    expect((await ctx.sql`select kind from usage_events where key_id = ${c.id}`).map((r) => r.kind)).toEqual([
      "completion",
    ]);
    expect(await settledBalance(ctx, c.accountId)).toEqual({
      balance_micros: 1_000_000n - row!.revenue_micros,
      held_micros: 0n,
    });
  });

  it("an Anthropic Messages stream is charged as estimated for what was delivered", async () => {
    const c = await customer(ctx, 1_000_000n);
    const client = new Anthropic({
      baseURL: ctx.stack.gatewayUrl!.replace(/\/v1$/, ""),
      apiKey: c.secret,
      maxRetries: 0,
    });
    const seen = await cutAfter(
      3,
      (signal) =>
        client.messages.create(
          {
            model: "fake-slow",
            max_tokens: 400,
            stream: true,
            messages: [{ role: "user", content: "Write at length about metering." }],
          },
          { signal },
        ),
      (e) => e.type === "content_block_delta",
    );
    expect(seen).toBe(3);
    const [row] = await usageRowsOf(ctx, c.id, 1, 30_000);
    expect(row).toMatchObject({ status: "cut", billing_status: "estimated" });
    expect(row!.revenue_micros).toBeGreaterThan(0n);
    expect(await settledBalance(ctx, c.accountId)).toEqual({
      balance_micros: 1_000_000n - row!.revenue_micros,
      held_micros: 0n,
    });
  });
});

describe("call ids", () => {
  it("every call of every kind above got a UUIDv7 the gateway made when the call arrived, and is claimed by its row", async () => {
    // After every describe above in this file: each kind's calls, served, failed and cut, are recorded.
    const rows = await ctx.sql<{ call_id: string; kind: string; started_ms: number }[]>`
      select call_id, kind, (extract(epoch from started_at) * 1000)::float8 as started_ms from usage_events`;
    expect(new Set(rows.map((r) => r.kind))).toEqual(
      new Set([
        "embedding",
        "messages",
        "responses",
        "completion",
        "image",
        "speech",
        "transcription",
        "chat",
      ]),
    );
    // Each call's claim is its row, in the partition of the day its id names (docs/adr/0032): none in usage_calls.
    const [claims] = await ctx.sql<{ n: number }[]>`select count(*)::int as n from usage_calls`;
    expect(claims!.n).toBe(0);
    for (const r of rows) {
      // Version 7, RFC 9562's variant: each day's call key index takes them in time order (docs/adr/0028).
      expect(r.call_id, r.kind).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      const madeMs = Number.parseInt(r.call_id.replaceAll("-", "").slice(0, 12), 16);
      // Made as the call arrived: within seconds of when the gateway says the call started (not a client's id, nor
      // one made at another moment). 30 s, not 5: on a loaded 2-core host (three gateway stacks, the npm run up
      // stack beside them) a streamed message's start was reported 5.3 s from its id's moment.
      expect(Math.abs(madeMs - r.started_ms), `${r.kind} ${r.call_id}`).toBeLessThan(30_000);
    }
  });
});
