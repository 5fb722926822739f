// Property test through the real gateway (issue 22): random requests of every kind — many empty items, tool results,
// system prompts, images, tiny and missing max tokens, n, odd audio — sent with the official openai and
// @anthropic-ai/sdk clients. For every served call, its reservation (the lease draw) is at least its charge. Then the
// same generator, 8 at a time, on a small balance: the ledger invariant holds and the balance never goes below zero
// (every charge is covered by its draw, so the in-flight bound of an overrun is 0).
import { randomUUID } from "node:crypto";
import Anthropic from "@anthropic-ai/sdk";
import fc from "fast-check";
import { toFile } from "openai";
import { describe, expect, it } from "vitest";
import { checkLedgerInvariants } from "@/lib/billing/ledger";
import { addPriceVersion } from "@/lib/billing/prices";
import { priceBody } from "@/lib/billing/schemas";
import { balanceOf, customer, failure, settledBalance, startGatewayStack } from "./helpers";

const ctx = startGatewayStack("gateway-reservation-property", {
  app: 3212,
  pg: 25452,
  litellm: 4122,
  upstream: 4132,
});

const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";
const text = fc.string({ maxLength: 24 });
const maxTokens = fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined });

/** A WAV: consistent PCM (any rate, channels, width; its data chunk may claim more than it holds) or a liar. */
const audio = fc.record({
  rate: fc.constantFrom(8_000, 16_000, 22_050, 44_100),
  channels: fc.constantFrom(1, 2),
  bytesPerSample: fc.constantFrom(1, 2),
  frames: fc.integer({ min: 1, max: 20_000 }),
  inflate: fc.constantFrom(0, 1, 1_000_000),
  byteRate: fc.option(fc.constantFrom(1, 100, 7), { nil: undefined, freq: 2 }),
});
function wavOf(a: typeof audio extends fc.Arbitrary<infer T> ? T : never): Buffer {
  const align = a.channels * a.bytesPerSample;
  const data = a.frames * align;
  const header = Buffer.alloc(44);
  header.write("RIFF", 0);
  header.writeUInt32LE(36 + data, 4);
  header.write("WAVEfmt ", 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(a.channels, 22);
  header.writeUInt32LE(a.rate, 24);
  header.writeUInt32LE(a.byteRate ?? a.rate * align, 28);
  header.writeUInt16LE(align, 32);
  header.writeUInt16LE(a.bytesPerSample * 8, 34);
  header.write("data", 36);
  header.writeUInt32LE(Math.min(2 ** 32 - 1, data + a.inflate), 40);
  return Buffer.concat([header, Buffer.alloc(data)]);
}

type Call =
  | {
      kind: "chat";
      model: string;
      messages: { role: "user" | "system" | "assistant"; content: unknown }[];
      max?: number;
      both?: number;
      n: number;
      tools: boolean;
    }
  | { kind: "responses"; input: unknown[]; instructions?: string; max?: number; images: number }
  | {
      kind: "messages";
      system?: string;
      results: number;
      texts: string[];
      images: number;
      max: number;
      tools: boolean;
    }
  | { kind: "embedding"; input: string[] }
  | {
      kind: "completion";
      prompts: string[] | number[][];
      max?: number;
      n: number;
      bestOf: number;
      stream: boolean;
    }
  | { kind: "image"; n: number }
  | { kind: "speech"; input: string }
  | { kind: "transcription"; wav: Buffer; liar: boolean };

const imageUrl = { type: "image_url", image_url: { url: `data:image/png;base64,${PNG}` } };
const tool = {
  type: "function" as const,
  function: { name: "lookup", description: "find it", parameters: { type: "object", properties: {} } },
};

const call: fc.Arbitrary<Call> = fc.oneof(
  fc.record({
    kind: fc.constant("chat" as const),
    model: fc.constantFrom("fake-small", "fake-large"),
    messages: fc.array(
      fc.record({
        role: fc.constantFrom("user" as const, "system" as const, "assistant" as const),
        content: fc.oneof(
          text,
          fc.array(fc.oneof(fc.record({ type: fc.constant("text"), text }), fc.constant(imageUrl)), {
            maxLength: 3,
          }),
        ),
      }),
      { minLength: 1, maxLength: 200 },
    ),
    max: maxTokens,
    both: maxTokens,
    n: fc.integer({ min: 1, max: 3 }),
    tools: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant("responses" as const),
    input: fc.array(
      fc.oneof(
        fc.constant({ role: "user", content: "" }),
        fc.record({ role: fc.constantFrom("user", "assistant"), content: text }),
        fc.record({ type: fc.constant("function_call_output"), call_id: fc.constant("c1"), output: text }),
      ),
      { minLength: 1, maxLength: 400 },
    ),
    instructions: fc.option(text, { nil: undefined }),
    max: maxTokens,
    images: fc.integer({ min: 0, max: 2 }),
  }),
  fc.record({
    kind: fc.constant("messages" as const),
    system: fc.option(text, { nil: undefined }),
    results: fc.integer({ min: 0, max: 300 }),
    texts: fc.array(text, { maxLength: 3 }),
    images: fc.integer({ min: 0, max: 2 }),
    max: fc.integer({ min: 1, max: 40 }),
    tools: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant("embedding" as const),
    input: fc.array(
      fc.oneof(
        text.filter((t) => t.trim() !== ""),
        // Up to the window (8,192 tokens) each: every input is its own pass of the model, so their sum may pass it
        // (one input past it is refused by the provider: reservations.test.ts).
        fc.integer({ min: 1, max: 8_192 }).map((words) => "a ".repeat(words)),
      ),
      { minLength: 1, maxLength: 8 },
    ),
  }),
  fc.record({
    kind: fc.constant("completion" as const),
    prompts: fc.oneof(
      fc.array(text, { minLength: 1, maxLength: 4 }),
      fc.array(fc.array(fc.integer({ min: 0, max: 50_000 }), { minLength: 1, maxLength: 20 }), {
        minLength: 1,
        maxLength: 4,
      }),
    ),
    max: maxTokens,
    n: fc.integer({ min: 1, max: 2 }),
    bestOf: fc.integer({ min: 2, max: 3 }),
    // A stream without usage is charged LiteLLM's own count of the text (clause 8).
    stream: fc.boolean(),
  }),
  fc.record({ kind: fc.constant("image" as const), n: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant("speech" as const), input: text.filter((t) => t.length > 0) }),
  audio.map((a) => ({ kind: "transcription" as const, wav: wavOf(a), liar: a.byteRate !== undefined })),
);

interface Outcome {
  status: number;
  callId: string | null;
}

async function outcome(promise: Promise<{ response: Response }>): Promise<Outcome> {
  try {
    const { response } = await promise;
    return { status: response.status, callId: response.headers.get("x-litellm-call-id") };
  } catch (error) {
    if (error instanceof Anthropic.APIError) return { status: error.status ?? 0, callId: null };
    const refused = await failure(Promise.reject(error));
    return { status: refused?.status ?? 0, callId: null };
  }
}

/** Sends one generated call with the official client of its route. */
async function send(secret: string, c: Call): Promise<Outcome> {
  const openai = ctx.client(secret);
  switch (c.kind) {
    case "chat":
      return outcome(
        openai.chat.completions
          .create({
            model: c.model,
            messages: c.messages as never,
            ...(c.max !== undefined ? { max_tokens: c.max } : {}),
            ...(c.both !== undefined ? { max_completion_tokens: c.both } : {}),
            n: c.n,
            ...(c.tools ? { tools: [tool] } : {}),
          })
          .withResponse(),
      );
    case "responses": {
      const images = Array.from({ length: c.images }, () => ({
        role: "user",
        content: [{ type: "input_image", image_url: `data:image/png;base64,${PNG}`, detail: "auto" }],
      }));
      return outcome(
        openai.responses
          .create({
            model: "fake-small",
            input: [...c.input, ...images] as never,
            ...(c.instructions ? { instructions: c.instructions } : {}),
            ...(c.max !== undefined ? { max_output_tokens: c.max } : {}),
          })
          .withResponse(),
      );
    }
    case "messages": {
      const client = new Anthropic({
        baseURL: ctx.stack.gatewayUrl!.replace(/\/v1$/, ""),
        apiKey: secret,
        maxRetries: 0,
      });
      const content = [
        ...Array.from({ length: c.results }, (_, i) => ({
          type: "tool_result" as const,
          tool_use_id: `toolu_${i}`,
          content: i % 3 ? "" : "ok",
        })),
        ...c.texts.map((t) => ({ type: "text" as const, text: t || "." })),
        ...Array.from({ length: c.images }, () => ({
          type: "image" as const,
          source: { type: "base64" as const, media_type: "image/png" as const, data: PNG },
        })),
      ];
      return outcome(
        client.messages
          .create({
            model: "fake-small",
            max_tokens: c.max,
            ...(c.system ? { system: c.system } : {}),
            messages: [{ role: "user", content: content.length ? content : "hi" }],
            ...(c.tools
              ? { tools: [{ name: "lookup", description: "find it", input_schema: { type: "object" } }] }
              : {}),
          })
          .withResponse(),
      );
    }
    case "embedding":
      return outcome(openai.embeddings.create({ model: "fake-embed", input: c.input }).withResponse());
    case "completion": {
      const body = {
        model: "fake-instruct",
        prompt: c.prompts.map((p) => (typeof p === "string" ? p || "." : p)) as string[] | number[][],
        ...(c.max !== undefined ? { max_tokens: c.max } : {}),
        n: c.n,
        best_of: c.bestOf,
      };
      if (!c.stream) return outcome(openai.completions.create(body).withResponse());
      // A stream asks n candidates (best_of = n: nothing to choose between) and no usage.
      return outcome(
        openai.completions
          .create({ ...body, best_of: c.n, stream: true })
          .withResponse()
          .then(async ({ data, response }) => {
            for await (const _ of data);
            return { response };
          }),
      );
    }
    case "image":
      return outcome(openai.images.generate({ model: "fake-image", prompt: "a cat", n: c.n }).withResponse());
    case "speech":
      return outcome(
        openai.audio.speech
          .create({ model: "fake-tts", voice: "alloy", input: c.input })
          .withResponse() as never,
      );
    case "transcription":
      return outcome(
        openai.audio.transcriptions
          .create({ model: "fake-whisper", file: await toFile(c.wav, "a.wav", { type: "audio/wav" }) })
          .withResponse(),
      );
  }
}

interface Row {
  call_id: string;
  status: string;
  revenue_micros: bigint;
  reservation: bigint;
}

async function rowsOf(keyId: string): Promise<Row[]> {
  return ctx.sql<Row[]>`
    select u.call_id, u.status, u.revenue_micros, coalesce(u.draw_micros, h.amount_micros, 0)::bigint as reservation
    from usage_events u left join holds h on h.id = u.hold_id where u.key_id = ${keyId}`;
}

async function rowOf(keyId: string, callId: string, timeoutMs = 15_000): Promise<Row | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = (await rowsOf(keyId)).find((r) => r.call_id === callId);
    if (row || Date.now() > deadline) return row;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("reservation ≥ charge, for random requests of every kind through the real gateway", () => {
  it("every served call's reservation covers its charge (60 runs, one at a time)", async () => {
    const c = await customer(ctx, 100_000_000n);
    const statuses: Record<string, number[]> = {};
    await fc.assert(
      fc.asyncProperty(call, async (generated) => {
        const result = await send(c.secret, generated);
        statuses[generated.kind] = [...(statuses[generated.kind] ?? []), result.status];
        // Every call is served but a WAV whose header lies about its byte rate: refused with 400, nothing reserved.
        expect(result.status).toBe(generated.kind === "transcription" && generated.liar ? 400 : 200);
        if (result.status !== 200) return;
        expect(result.callId).toBeTruthy();
        const row = await rowOf(c.id, result.callId!);
        expect(row?.status).toBe("success");
        expect(row!.reservation).toBeGreaterThanOrEqual(row!.revenue_micros);
      }),
      { numRuns: 60, seed: 22, endOnFailure: true },
    );
    console.log("served by kind:", JSON.stringify(statuses));
    for (const row of await rowsOf(c.id)) expect(row.reservation).toBeGreaterThanOrEqual(row.revenue_micros);
    expect((await settledBalance(ctx, c.accountId)).held_micros).toBe(0n);
    expect(await checkLedgerInvariants(ctx.sql, c.accountId)).toEqual([]);
  }, 120_000);

  it("8 at a time on a small balance: the ledger invariant holds and the balance never goes below zero", async () => {
    const c = await customer(ctx, 60_000n);
    const calls = fc.sample(call, { numRuns: 64, seed: 2212 });
    let lowest = 60_000n;
    let running = true;
    const watch = (async () => {
      while (running) {
        const { balance_micros } = await balanceOf(ctx, c.accountId);
        if (balance_micros < lowest) lowest = balance_micros;
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    const results: Outcome[] = [];
    for (let i = 0; i < calls.length; i += 8) {
      results.push(...(await Promise.all(calls.slice(i, i + 8).map((g) => send(c.secret, g)))));
    }
    const served = results.filter((r) => r.status === 200);
    console.log(
      "concurrent outcomes:",
      JSON.stringify(
        Object.fromEntries(
          [...new Set(results.map((r) => r.status))].map((s) => [
            s,
            results.filter((r) => r.status === s).length,
          ]),
        ),
      ),
    );
    for (const r of results) expect([200, 400, 402]).toContain(r.status);
    for (const r of served) {
      const row = await rowOf(c.id, r.callId!);
      expect(row!.reservation).toBeGreaterThanOrEqual(row!.revenue_micros);
    }
    const final = await settledBalance(ctx, c.accountId);
    running = false;
    await watch;
    expect(final.held_micros).toBe(0n);
    // Every charge was covered by its reservation: the in-flight bound of an overrun is 0.
    expect(lowest).toBeGreaterThanOrEqual(0n);
    expect(final.balance_micros).toBeGreaterThanOrEqual(0n);
    expect(await checkLedgerInvariants(ctx.sql, c.accountId)).toEqual([]);
  }, 120_000);

  // Last in the file: it changes fake-small's price for this stack.
  it("prices rise while calls flow on a lease: each call is charged at most its draw, at the prices it drew at", async () => {
    const c = await customer(ctx, 500_000_000n);
    const [admin] = await ctx.sql<{ id: string }[]>`
      insert into users (email, role) values (${`${randomUUID()}@example.com`}, 'admin') returning id`;
    const [model] = await ctx.sql<{ id: string; input: bigint; output: bigint }[]>`
      select m.id, pv.input_price_micros as input, pv.output_price_micros as output
      from models m cross join lateral price_version_at(m.id, now()) pv where m.public_name = 'fake-small'`;
    const chat: Call = {
      kind: "chat",
      model: "fake-small",
      messages: [{ role: "user", content: "hi" }],
      max: 4,
      n: 1,
      tools: false,
    };
    const results: Outcome[] = [];
    let running = true;
    // Six calls at a time for as long as the prices move (at most 1,200 calls).
    const traffic = (async () => {
      while (running && results.length < 1_200) {
        results.push(...(await Promise.all(Array.from({ length: 6 }, () => send(c.secret, chat)))));
      }
    })();
    // Three rises, each to ten times the last (a draw is a worst case, often a few times the charge), 1.5 s apart: the gateway's auth answer (2 s here) carries the new
    // epoch only after each, so calls that start after a rise draw from the lease of the prices before it.
    for (let i = 1n; i <= 3n; i++) {
      await new Promise((r) => setTimeout(r, 1_500));
      await addPriceVersion(
        ctx.sql,
        { userId: admin!.id, kind: "user", role: "admin" },
        {
          ...priceBody.parse({
            modelId: model!.id,
            inputCostMicros: 1,
            outputCostMicros: 1,
            inputPriceMicros: Number(model!.input * 10n ** i),
            outputPriceMicros: Number(model!.output * 10n ** i),
          }),
          effectiveFrom: new Date(),
        },
      );
    }
    await new Promise((r) => setTimeout(r, 3_000));
    running = false;
    await traffic;
    const served = results.filter((r) => r.status === 200);
    expect(served.length).toBeGreaterThan(50);
    const read = () =>
      ctx.sql<(Row & { version: string; lease_created: Date })[]>`
        select u.call_id, u.status, u.revenue_micros, u.draw_micros as reservation, u.price_version_id::text as version,
               l.created_at as lease_created
        from usage_events u join leases l on l.id = u.lease_id where u.key_id = ${c.id}`;
    // Every served call's usage arrives from the gateway's outbox.
    await expect.poll(async () => (await read()).length, { timeout: 30_000 }).toBe(served.length);
    const rows = await read();
    expect(rows.map((row) => row.call_id).sort()).toEqual(served.map((r) => r.callId).sort());
    expect(rows.filter((row) => row.reservation < row.revenue_micros)).toEqual([]);
    for (const row of rows) {
      // Charged at the version in force when its lease was granted.
      const [atLease] = await ctx.sql<{ id: string }[]>`
        select id::text from price_version_at(${model!.id}, ${row.lease_created})`;
      expect(row.version).toBe(atLease!.id);
    }
    const [late] = await ctx.sql<{ n: number }[]>`
      select count(*)::int as n from usage_events u join leases l on l.id = u.lease_id
      where u.key_id = ${c.id}
        and (select id from price_version_at(${model!.id}, u.started_at)) <> (select id from price_version_at(${model!.id}, l.created_at))`;
    const versions = new Set(rows.map((r) => r.version)).size;
    console.log(
      `price rises under traffic: ${served.length} served, ${versions} versions charged, ${late!.n} started after a rise on an older lease`,
    );
    // The rises reached the calls: a later lease was granted (and charged) at a newer version, and calls that started
    // after a rise drew from a lease granted before it (the case the rule is about).
    expect(versions).toBeGreaterThanOrEqual(2);
    expect(late!.n).toBeGreaterThan(0);
    expect(await checkLedgerInvariants(ctx.sql, c.accountId)).toEqual([]);
  }, 120_000);
});
