// What an app sees of the gateway beyond the numbers, through the real LiteLLM proxy and the official clients:
// no LiteLLM cost figure in any body or stream (an app pays Tollgate's charge: x-tollgate-* headers and the usage
// API), GET /v1/models/{id} answered as OpenAI answers it, error answers that leave the client's kept-alive
// connection usable, the reservation headers on every answer and the call id on every failed call's answer.
import Anthropic from "@anthropic-ai/sdk";
import OpenAI, { toFile } from "openai";
import { beforeAll, describe, expect, it } from "vitest";
import { wav } from "../helpers/audio";
import { addTestModels, customer, MASTER_KEY, startGatewayStack, usageRowsOf } from "./helpers";

const ctx = startGatewayStack("gateway-surface", { app: 3210, pg: 25450, litellm: 4120, upstream: 4130 });
const ERROR_MODELS = [
  "fake-error-500",
  "fake-embed-error",
  "fake-instruct-error",
  "fake-image-error",
  "fake-tts-error",
  "fake-whisper-error",
];
beforeAll(async () => {
  await addTestModels(ctx, ERROR_MODELS);
});

const chat = {
  model: "fake-small",
  messages: [{ role: "user" as const, content: "hi there" }],
  max_tokens: 8,
};
const anthropic = (apiKey: string) =>
  new Anthropic({ baseURL: ctx.stack.gatewayUrl!.replace(/\/v1$/, ""), apiKey, maxRetries: 0 });

/** The raw bytes of a streamed answer (as any SSE client reads them). */
async function rawStream(path: string, key: string, body: object, anthropicStyle = false) {
  const res = await fetch(`${ctx.stack.gatewayUrl}${path}`, {
    method: "POST",
    headers: {
      ...(anthropicStyle ? { "x-api-key": key } : { authorization: `Bearer ${key}` }),
      "content-type": "application/json",
    },
    body: JSON.stringify({ ...body, stream: true }),
  });
  expect(res.status, path).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
  return res.text();
}

/** The error an SDK call ended with (openai's or Anthropic's), with its response headers. */
async function errorOf(promise: Promise<unknown>): Promise<{ status: number; headers: Headers }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof OpenAI.APIError || error instanceof Anthropic.APIError)
      return { status: error.status ?? 0, headers: error.headers as Headers };
    throw error;
  }
  throw new Error("the call succeeded");
}

describe("LiteLLM's cost figure never reaches an app", () => {
  it("streams of every kind carry their usage but no cost; LiteLLM's own answer (the master key) has one", async () => {
    const c = await customer(ctx, 100_000_000n);
    const withUsage = { stream_options: { include_usage: true } };
    // LiteLLM stamps usage.cost on streamed chat's usage chunk and on the Responses API's last event: the control.
    const bare = await rawStream("/chat/completions", MASTER_KEY, { ...chat, ...withUsage });
    expect(bare).toMatch(/"usage":\{.*"cost":/);
    const streams = {
      chat: await rawStream("/chat/completions", c.secret, { ...chat, ...withUsage }),
      chatWithoutUsage: await rawStream("/chat/completions", c.secret, chat),
      responses: await rawStream("/responses", c.secret, {
        model: "fake-small",
        input: "hi",
        max_output_tokens: 16,
      }),
      messages: await rawStream(
        "/messages",
        c.secret,
        { model: "fake-small", max_tokens: 16, messages: [{ role: "user", content: "hi" }] },
        true,
      ),
      completions: await rawStream("/completions", c.secret, {
        model: "fake-instruct",
        prompt: "hi",
        max_tokens: 8,
        ...withUsage,
      }),
    };
    for (const [kind, text] of Object.entries(streams)) {
      expect(text, kind).not.toContain("cost");
      if (kind !== "chatWithoutUsage") expect(text, kind).toMatch(/"usage": ?\{"?[a-z_]+_tokens"?/);
    }
    expect(streams.chat).toMatch(/"total_tokens":\d+/);
    expect(streams.responses).toContain('"type":"response.completed"');
    expect(streams.chat.endsWith("data: [DONE]\n\n")).toBe(true);
  });

  it("the official clients' usage objects have no cost, streamed or not, for every kind", async () => {
    const c = await customer(ctx, 100_000_000n);
    const usages: Record<string, unknown> = {};
    for await (const chunk of await c.client.chat.completions.create({
      ...chat,
      stream: true,
      stream_options: { include_usage: true },
    }))
      if (chunk.usage) usages.chatStream = chunk.usage;
    for await (const event of await c.client.responses.create({
      model: "fake-small",
      input: "hi",
      max_output_tokens: 16,
      stream: true,
    }))
      if (event.type === "response.completed") usages.responsesStream = event.response.usage;
    usages.chat = (await c.client.chat.completions.create(chat)).usage;
    usages.responses = (
      await c.client.responses.create({ model: "fake-small", input: "hi", max_output_tokens: 16 })
    ).usage;
    usages.messages = (
      await anthropic(c.secret).messages.create({
        model: "fake-small",
        max_tokens: 16,
        messages: [{ role: "user", content: "hi" }],
      })
    ).usage;
    usages.completions = (
      await c.client.completions.create({ model: "fake-instruct", prompt: "hi", max_tokens: 8 })
    ).usage;
    usages.embeddings = (await c.client.embeddings.create({ model: "fake-embed", input: "hi" })).usage;
    usages.images = (await c.client.images.generate({ model: "fake-image", prompt: "a cat" })).usage;
    // A transcription's answer is its text (LiteLLM keeps no usage there): the whole answer is checked.
    const heard = await c.client.audio.transcriptions.create({
      model: "fake-whisper",
      file: await toFile(wav(1), "a.wav", { type: "audio/wav" }),
    });
    expect(heard.text).toBeTruthy();
    expect(JSON.stringify(heard)).not.toContain("cost");
    for (const [kind, usage] of Object.entries(usages)) {
      expect(usage, kind).toBeTruthy();
      expect(JSON.stringify(usage), kind).not.toContain("cost");
    }
  });
});

describe("GET /v1/models/{id} (the openai client's models.retrieve)", () => {
  it("answers every model the key lists as OpenAI does, and 404 model_not_found for any other", async () => {
    const c = await customer(ctx, 1_000_000n);
    const listed = [];
    for await (const model of c.client.models.list()) listed.push(model);
    expect(listed.length).toBeGreaterThan(3);
    for (const model of listed) {
      const { data, response } = await c.client.models.retrieve(model.id).withResponse();
      expect(response.status).toBe(200);
      expect({ ...data }).toEqual({
        id: model.id,
        object: "model",
        created: model.created,
        owned_by: model.owned_by,
      });
    }
    for (const id of ["no-such-model", "fake-small-1", "openai/fake-small", "fake small"]) {
      const error = await c.client.models.retrieve(id).catch((e: unknown) => e);
      expect(error, id).toBeInstanceOf(OpenAI.NotFoundError);
      expect((error as InstanceType<typeof OpenAI.NotFoundError>).code).toBe("model_not_found");
    }
  });

  it("a key narrowed to one model retrieves only that one; a bad key is 401", async () => {
    const c = await customer(ctx, 1_000_000n);
    const narrow = await ctx.issueKey({ userId: c.userId, allowedModels: ["fake-small"] });
    const client = ctx.client(narrow.secret);
    const listed = [];
    for await (const model of client.models.list()) listed.push(model.id);
    expect(listed).toEqual(["fake-small"]);
    expect((await client.models.retrieve("fake-small")).id).toBe("fake-small");
    expect(await errorOf(client.models.retrieve("fake-large"))).toMatchObject({ status: 404 });
    expect(await errorOf(ctx.client("tg_not_a_key").models.retrieve("fake-small"))).toMatchObject({
      status: 401,
    });
  });
});

describe("an error answer leaves the client's kept-alive connection usable", () => {
  it("each error, then a valid call on the same client (max_retries 0), is served", async () => {
    const c = await customer(ctx, 100_000_000n);
    const client = c.client; // one client, one keep-alive pool, no retries
    const errors: Array<[number, () => Promise<unknown>]> = [
      [404, () => client.models.retrieve("no-such-model")],
      [500, () => client.completions.create({ model: "fake-instruct-error", prompt: "x", max_tokens: 4 })],
      [500, () => client.images.generate({ model: "fake-image-error", prompt: "x" })],
      [500, () => client.chat.completions.create({ ...chat, model: "fake-error-500" })],
      [400, () => client.chat.completions.create({ ...chat, api_base: "http://x" } as typeof chat)],
      [403, () => client.get("/model/info")],
    ];
    for (const [status, call] of errors) {
      expect((await errorOf(call())).status).toBe(status);
      const ok = await client.chat.completions.create(chat);
      expect(ok.choices[0]!.message.content, `after a ${status}`).toBeTruthy();
      expect((await client.models.retrieve("fake-small")).id).toBe("fake-small");
    }
  });
});

describe("headers (billing contract clauses 17 and 22)", () => {
  it("every non-streaming answer carries what the call reserved and what is left", async () => {
    const c = await customer(ctx, 100_000_000n);
    const answers: Record<string, Response> = {
      chat: (await c.client.chat.completions.create(chat).withResponse()).response,
      embeddings: (await c.client.embeddings.create({ model: "fake-embed", input: "hi" }).withResponse())
        .response,
      responses: (
        await c.client.responses
          .create({ model: "fake-small", input: "hi", max_output_tokens: 16 })
          .withResponse()
      ).response,
      messages: (
        await anthropic(c.secret)
          .messages.create({
            model: "fake-small",
            max_tokens: 16,
            messages: [{ role: "user", content: "hi" }],
          })
          .withResponse()
      ).response,
      completions: (
        await c.client.completions
          .create({ model: "fake-instruct", prompt: "hi", max_tokens: 8 })
          .withResponse()
      ).response,
      images: (await c.client.images.generate({ model: "fake-image", prompt: "a cat" }).withResponse())
        .response,
      speech: (
        await c.client.audio.speech
          .create({ model: "fake-tts", voice: "alloy", input: "hello" })
          .withResponse()
      ).response,
      transcription: (
        await c.client.audio.transcriptions
          .create({ model: "fake-whisper", file: await toFile(wav(1), "a.wav", { type: "audio/wav" }) })
          .withResponse()
      ).response,
    };
    for (const [kind, response] of Object.entries(answers)) {
      expect(response.headers.get("x-tollgate-hold-micros"), kind).toMatch(/^[1-9]\d*$/);
      expect(response.headers.get("x-tollgate-available-micros"), kind).toMatch(/^\d+$/);
      expect(response.headers.get("x-litellm-call-id"), kind).toMatch(/^[0-9a-f-]{36}$/);
    }
    const rows = await usageRowsOf(ctx, c.id, Object.keys(answers).length);
    expect(new Set(rows.map((r) => r.call_id))).toEqual(
      new Set(Object.values(answers).map((r) => r.headers.get("x-litellm-call-id"))),
    );
  });

  it("every failed call's error answer carries its call id: the call_id of its usage row", async () => {
    const c = await customer(ctx, 100_000_000n);
    // Concurrently: the router retries each upstream 500 with backoff before the call fails.
    const file = await toFile(wav(1), "a.wav", { type: "audio/wav" });
    const calls: Record<string, Promise<unknown>> = {
      chat: c.client.chat.completions.create({ ...chat, model: "fake-error-500" }),
      embeddings: c.client.embeddings.create({ model: "fake-embed-error", input: "hi" }),
      responses: c.client.responses.create({ model: "fake-error-500", input: "hi", max_output_tokens: 16 }),
      messages: anthropic(c.secret).messages.create({
        model: "fake-error-500",
        max_tokens: 16,
        messages: [{ role: "user", content: "hi" }],
      }),
      completions: c.client.completions.create({ model: "fake-instruct-error", prompt: "hi", max_tokens: 8 }),
      images: c.client.images.generate({ model: "fake-image-error", prompt: "a cat" }),
      speech: c.client.audio.speech.create({ model: "fake-tts-error", voice: "alloy", input: "hello" }),
      transcription: c.client.audio.transcriptions.create({ model: "fake-whisper-error", file }),
    };
    const failures = Object.fromEntries(
      await Promise.all(
        Object.entries(calls).map(async ([kind, call]) => [kind, await errorOf(call)] as const),
      ),
    );
    const ids: Record<string, string | null> = {};
    for (const [kind, failure] of Object.entries(failures)) {
      expect(failure.status, kind).toBeGreaterThanOrEqual(500);
      ids[kind] = failure.headers.get("x-litellm-call-id");
      expect(ids[kind], kind).toMatch(/^[0-9a-f-]{36}$/);
    }
    const rows = await usageRowsOf(ctx, c.id, Object.keys(failures).length);
    expect(rows).toHaveLength(Object.keys(failures).length);
    for (const row of rows) expect(row).toMatchObject({ status: "failure", revenue_micros: 0n });
    const kinds = await ctx.sql<{ call_id: string; kind: string }[]>`
      select call_id, kind from usage_events where key_id = ${c.id}`;
    const byCall = Object.fromEntries(kinds.map((k) => [k.call_id, k.kind]));
    const expectedKind: Record<string, string> = {
      chat: "chat",
      embeddings: "embedding",
      responses: "responses",
      messages: "messages",
      completions: "completion",
      images: "image",
      speech: "speech",
      transcription: "transcription",
    };
    for (const [kind, id] of Object.entries(ids)) expect(byCall[id!], kind).toBe(expectedKind[kind]);
  });
});
