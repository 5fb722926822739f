// Issue 22, items 2–4, as regression tests on the numbers: a reservation (a lease draw) is an upper bound of the
// call's charge for every crafted request found so far — thousands of empty Responses input items, hundreds of
// Anthropic tool results, output caps below LiteLLM's minimum, a WAV whose header lies about its length — and the
// balance never goes below zero. Bounds: litellm/tollgate_litellm/bounds.py.
import Anthropic from "@anthropic-ai/sdk";
import { toFile } from "openai";
import { beforeAll, describe, expect, it } from "vitest";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { DEMO_MODELS } from "@/lib/seed/demo";
import { wav } from "../helpers/audio";
import { priceTokens } from "../helpers/price";
import { addTestModels, customer, failure, settledBalance, startGatewayStack, usageRowsOf } from "./helpers";

const ctx = startGatewayStack("gateway-reservations", {
  app: 3211,
  pg: 25451,
  litellm: 4121,
  upstream: 4131,
});
const SMALL = DEMO_MODELS.find((m) => m.name === "fake-small")!;
const INSTRUCT = DEMO_MODELS.find((m) => m.name === "fake-instruct")!;
beforeAll(() => addTestModels(ctx, ["fake-instruct-slow"]));
const AUDIO_RATE = DEMO_MODELS.find((m) => m.name === "fake-whisper")!.units!.audio_second_price_micros!;

interface Served {
  status: string;
  prompt_tokens: number;
  completion_tokens: number;
  revenue_micros: bigint;
  draw_micros: bigint | null;
  hold: bigint | null;
}

/** Every usage row of the key with its reservation: the lease draw, or the hold's amount. */
async function served(keyId: string): Promise<Served[]> {
  return ctx.sql<Served[]>`
    select u.status, u.prompt_tokens, u.completion_tokens, u.revenue_micros, u.draw_micros, h.amount_micros as hold
    from usage_events u left join holds h on h.id = u.hold_id
    where u.key_id = ${keyId} order by u.started_at`;
}

const reservation = (row: Served) => row.draw_micros ?? row.hold ?? 0n;

/** The HTTP status a call of either official client ended with: 200, or its error's status. */
async function statusOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 200;
  } catch (error) {
    if (error instanceof Anthropic.APIError) return error.status ?? 0;
    return (await failure(Promise.reject(error)))?.status ?? 0;
  }
}

/** Runs `count` calls, `width` at a time; the status of each. */
async function inBatches(count: number, width: number, call: () => Promise<unknown>): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i += width) {
    statuses.push(
      ...(await Promise.all(Array.from({ length: Math.min(width, count - i) }, () => statusOf(call())))),
    );
  }
  return statuses;
}

const anthropic = (secret: string) =>
  new Anthropic({ baseURL: ctx.stack.gatewayUrl!.replace(/\/v1$/, ""), apiKey: secret, maxRetries: 0 });

// Bound of 2,000 empty items: 57,xxx bytes + framing > fake-small's context window (16,384), so the prompt is
// reserved at the window; the output at LiteLLM's Responses minimum, 16.
const CAPPED_DRAW = priceTokens({ input: 16_384, output: 16 }, SMALL.price);

describe("issue 22: a reservation is an upper bound of its charge", () => {
  it("40 × /v1/responses with 2,000 empty input items and max_output_tokens 1, 8 at a time, on 20,000 µ$: each served call drew more than it was charged; the balance stays ≥ 0", async () => {
    const c = await customer(ctx, 20_000n);
    const input = Array.from({ length: 2_000 }, () => ({ role: "user" as const, content: "" }));
    const statuses = await inBatches(40, 8, () =>
      c.client.responses.create({ model: "fake-small", input, max_output_tokens: 1 }),
    );
    const ok = statuses.filter((s) => s === 200).length;
    expect(ok).toBeGreaterThanOrEqual(1);
    expect(statuses.every((s) => s === 200 || s === 402)).toBe(true);
    const rows = await usageRowsOf(ctx, c.id, ok);
    expect(rows).toHaveLength(ok);
    const seen = await served(c.id);
    // The upstream bills 3 + 4 per item (8,003) and 16 output tokens: 4,026 µ$; each call drew 8,216 µ$.
    for (const row of seen) {
      expect([row.status, row.prompt_tokens, row.completion_tokens]).toEqual(["success", 8_003, 16]);
      expect(row.revenue_micros).toBe(priceTokens({ input: 8_003, output: 16 }, SMALL.price));
      expect(row.revenue_micros).toBe(4_026n);
      expect(reservation(row)).toBe(CAPPED_DRAW);
      expect(CAPPED_DRAW).toBe(8_216n);
      expect(reservation(row)).toBeGreaterThanOrEqual(row.revenue_micros);
    }
    const final = await settledBalance(ctx, c.accountId);
    console.log(`empty Responses items: ${ok} of 40 served, final balance ${final.balance_micros} µ$`);
    expect(final).toEqual({ balance_micros: 20_000n - 4_026n * BigInt(ok), held_micros: 0n });
    expect(final.balance_micros).toBeGreaterThanOrEqual(0n);
    expect(await checkLedgerInvariants(ctx.sql, c.accountId)).toEqual([]);
  });

  it("/v1/messages with 500 tool_result blocks, a system prompt and max_tokens 1 (the official Anthropic client): drawn ≥ charged, balance ≥ 0", async () => {
    const c = await customer(ctx, 20_000n);
    const client = anthropic(c.secret);
    const content = Array.from({ length: 500 }, (_, i) => ({
      type: "tool_result" as const,
      tool_use_id: `toolu_${i}`,
      content: "",
    }));
    const statuses = await inBatches(10, 5, () =>
      client.messages.create({
        model: "fake-small",
        max_tokens: 1,
        system: [{ type: "text", text: "You are a very terse assistant." }],
        messages: [{ role: "user", content }],
      }),
    );
    const ok = statuses.filter((s) => s === 200).length;
    expect(ok).toBeGreaterThanOrEqual(1);
    expect(statuses.every((s) => s === 200 || s === 402)).toBe(true);
    await usageRowsOf(ctx, c.id, ok);
    const seen = await served(c.id);
    expect(seen).toHaveLength(ok);
    // LiteLLM sends each tool_result as its own Responses item (500 × 4) beside the instructions (4 + 6 words) + 3.
    for (const row of seen) {
      expect([row.status, row.prompt_tokens, row.completion_tokens]).toEqual(["success", 2_013, 16]);
      expect(row.revenue_micros).toBe(priceTokens({ input: 2_013, output: 16 }, SMALL.price));
      expect(reservation(row)).toBe(CAPPED_DRAW);
      expect(reservation(row)).toBeGreaterThanOrEqual(row.revenue_micros);
    }
    const final = await settledBalance(ctx, c.accountId);
    console.log(`500 tool results: ${ok} of 10 served, final balance ${final.balance_micros} µ$`);
    expect(final.held_micros).toBe(0n);
    expect(final.balance_micros).toBe(20_000n - seen.reduce((n, r) => n + r.revenue_micros, 0n));
    expect(final.balance_micros).toBeGreaterThanOrEqual(0n);
    expect(await checkLedgerInvariants(ctx.sql, c.accountId)).toEqual([]);
  });

  it("output caps below LiteLLM's minimum are reserved at the 16 tokens LiteLLM sends (Responses and Messages)", async () => {
    const c = await customer(ctx, 1_000_000n);
    const response = await c.client.responses.create({
      model: "fake-small",
      input: "say something long",
      max_output_tokens: 1,
    });
    expect(response.usage?.output_tokens).toBe(16);
    const message = await anthropic(c.secret).messages.create({
      model: "fake-small",
      max_tokens: 5,
      messages: [{ role: "user", content: "say something long" }],
    });
    expect(message.usage.output_tokens).toBe(16);
    await usageRowsOf(ctx, c.id, 2);
    const seen = await served(c.id);
    // Bounds: {"input":"say something long"} is 30 bytes, + 16 + 4 = 50; Messages:
    // {"messages":[{"role":"user","content":"say something long"}]} is 61 bytes, + 16 + 4 = 81.
    expect(seen.map((r) => [r.prompt_tokens, r.completion_tokens, reservation(r), r.revenue_micros])).toEqual(
      [
        [
          3 + 4 + 3,
          16,
          priceTokens({ input: 50, output: 16 }, SMALL.price),
          priceTokens({ input: 10, output: 16 }, SMALL.price),
        ],
        [
          3 + 4 + 3,
          16,
          priceTokens({ input: 81, output: 16 }, SMALL.price),
          priceTokens({ input: 10, output: 16 }, SMALL.price),
        ],
      ],
    );
    for (const row of seen) expect(reservation(row)).toBeGreaterThanOrEqual(row.revenue_micros);
  });

  it("chat: the prompt's bound, and the larger of max_tokens and max_completion_tokens × n", async () => {
    const c = await customer(ctx, 1_000_000n);
    const messages = [
      { role: "system" as const, content: "Be brief." },
      { role: "user" as const, content: "How are calls billed?" },
    ];
    const { data, response } = await c.client.chat.completions
      .create({ model: "fake-small", messages, max_tokens: 5, max_completion_tokens: 30, n: 2 })
      .withResponse();
    // {"messages":[…]} as compact JSON, + 16 per request + 4 per message; output 30 × 2 choices.
    const bound = Buffer.byteLength(JSON.stringify({ messages })) + 16 + 4 * 2;
    const drawn = priceTokens({ input: bound, output: 30 * 2 }, SMALL.price);
    expect(response.headers.get("x-tollgate-hold-micros")).toBe(String(drawn));
    await usageRowsOf(ctx, c.id, 1);
    const [row] = await served(c.id);
    expect(reservation(row!)).toBe(drawn);
    expect(row!.revenue_micros).toBe(
      priceTokens({ input: data.usage!.prompt_tokens, output: data.usage!.completion_tokens }, SMALL.price),
    );
    expect(reservation(row!)).toBeGreaterThanOrEqual(row!.revenue_micros);
  });

  it("transcription is measured on the server: a WAV whose header lies about its byte rate is refused with 400 before anything is reserved; a data chunk claiming more than it holds is as long as what it holds", async () => {
    const c = await customer(ctx, 1_000_000n);
    // One second of 16 kHz 16-bit mono audio whose header claims a byte rate of 1 byte/s (16,000 s if believed).
    const liar = wav(1, 16_000);
    liar.writeUInt32LE(1, 28);
    const refused = await failure(
      c.client.audio.transcriptions.create({
        model: "fake-whisper",
        file: await toFile(liar, "liar.wav", { type: "audio/wav" }),
      }),
    );
    expect(refused?.status).toBe(400);
    expect(refused?.message).toMatch(/inconsistent/);
    // The data chunk claims 10,000 s; one second is there.
    const padded = wav(1, 16_000);
    padded.writeUInt32LE(16_000 * 2 * 10_000, 40);
    const heard = await c.client.audio.transcriptions.create({
      model: "fake-whisper",
      file: await toFile(padded, "padded.wav", { type: "audio/wav" }),
    });
    expect(heard.text).toBe("fake transcription of 1.00 seconds");
    await usageRowsOf(ctx, c.id, 1);
    const seen = await served(c.id);
    expect(seen.map((r) => [r.status, reservation(r), r.revenue_micros])).toEqual([
      ["success", AUDIO_RATE, AUDIO_RATE],
    ]);
    expect(await settledBalance(ctx, c.accountId)).toEqual({
      balance_micros: 1_000_000n - AUDIO_RATE,
      held_micros: 0n,
    });
  });

  it("an embedding input or a completion prompt longer than the model's window is refused by the provider and charged nothing; within it, each is reserved at least its charge", async () => {
    const c = await customer(ctx, 1_000_000n);
    // 50,000 words: reserved at the window (8,192 tokens), which is all the provider takes in one input.
    const long = "a ".repeat(50_000);
    const embed = await failure(c.client.embeddings.create({ model: "fake-embed", input: long }));
    expect(embed?.status).toBe(400);
    const complete = await failure(
      c.client.completions.create({ model: "fake-instruct", prompt: long.slice(0, 40_000), max_tokens: 1 }),
    );
    expect(complete?.status).toBe(400);
    // At the window's edge both are served, and each drew at least its charge.
    await c.client.embeddings.create({
      model: "fake-embed",
      input: ["a ".repeat(8_000), "b ".repeat(8_000)],
    });
    await c.client.completions.create({ model: "fake-instruct", prompt: "a ".repeat(4_000), max_tokens: 1 });
    await usageRowsOf(ctx, c.id, 4);
    const seen = await served(c.id);
    expect(seen.map((r) => r.status)).toEqual(["failure", "failure", "success", "success"]);
    expect(seen.map((r) => r.revenue_micros).slice(0, 2)).toEqual([0n, 0n]);
    expect(seen.map((r) => r.prompt_tokens).slice(2)).toEqual([16_000, 4_000]);
    for (const row of seen) expect(reservation(row)).toBeGreaterThanOrEqual(row.revenue_micros);
    expect(await checkLedgerInvariants(ctx.sql, c.accountId)).toEqual([]);
  });

  it("a stream without usage is charged LiteLLM's count held to what it was sent with: 128 one-token choices of token-id prompts, served and cut", async () => {
    const c = await customer(ctx, 1_000_000n);
    const body = {
      model: "fake-instruct",
      prompt: [[1], [2]],
      max_tokens: 1,
      n: 64,
      best_of: 64,
      stream: true as const,
    };
    const stream = await c.client.completions.create(body);
    let chunks = 0;
    for await (const _ of stream) chunks++;
    expect(chunks).toBeGreaterThanOrEqual(128);
    // The same on a slow model, cut by the client after a few chunks.
    const slow = await c.client.completions.create({ ...body, model: "fake-instruct-slow" });
    let read = 0;
    for await (const _ of slow) if (++read === 20) break;
    await usageRowsOf(ctx, c.id, 2);
    const seen = await served(c.id);
    expect(seen.map((r) => r.status)).toEqual(["success", "cut"]);
    // 2 prompts × 64 choices × 1 token: never more, whatever a tokenizer makes of the joined text.
    for (const row of seen) expect(row.completion_tokens).toBeLessThanOrEqual(128);
    expect(seen[0]!.completion_tokens).toBeGreaterThan(0);
    // The token-id prompts are counted by their length (LiteLLM's own count leaves them out).
    expect(seen[0]!.prompt_tokens).toBe(2);
    for (const row of seen) expect(reservation(row)).toBeGreaterThanOrEqual(row.revenue_micros);
    expect(seen[0]!.revenue_micros).toBe(
      priceTokens({ input: 2, output: seen[0]!.completion_tokens }, INSTRUCT.price),
    );
    expect(await checkLedgerInvariants(ctx.sql, c.accountId)).toEqual([]);
  });
});
