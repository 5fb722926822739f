import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { completionTokens, countPromptTokens, createFakeUpstream } from "@/scripts/fake-upstream";

const server = createFakeUpstream();
let client: OpenAI;

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: "x", maxRetries: 0 });
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const messages = [{ role: "user" as const, content: "count these five words" }];

describe("fake upstream", () => {
  it("is deterministic: same prompt, same answer and usage; ids are unique", async () => {
    const a = await client.chat.completions.create({ model: "fake-small", messages });
    const b = await client.chat.completions.create({ model: "fake-small", messages });
    expect(a.choices[0]!.message.content).toBe(b.choices[0]!.message.content);
    expect(a.usage).toEqual(b.usage);
    expect(a.id).not.toBe(b.id);
    expect(a.usage!.prompt_tokens).toBe(countPromptTokens(messages));
    expect(a.usage!.completion_tokens).toBe(completionTokens({ model: "fake-small", messages }).length);
  });

  it("streams with usage in the last chunk when asked", async () => {
    const stream = await client.chat.completions.create({
      model: "fake-small",
      messages,
      max_tokens: 7,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks.at(-1)!.usage).toMatchObject({ completion_tokens: 7 });
    expect(
      chunks
        .map((c) => c.choices[0]?.delta?.content ?? "")
        .join("")
        .split(" "),
    ).toHaveLength(7);
  });

  it("fails on demand: 500, 429, and a stream cut mid-way", async () => {
    await expect(client.chat.completions.create({ model: "fake-error-500", messages })).rejects.toMatchObject(
      { status: 500 },
    );
    await expect(client.chat.completions.create({ model: "fake-error-429", messages })).rejects.toMatchObject(
      { status: 429 },
    );
    const stream = await client.chat.completions.create({
      model: "fake-cut",
      messages,
      max_tokens: 10,
      stream: true,
    });
    let received = 0;
    await expect(
      (async () => {
        for await (const c of stream) if (c.choices[0]?.delta?.content) received++;
      })(),
    ).rejects.toThrow();
    expect(received).toBe(5);
  });

  it("lists its models", async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toContain("fake-small");
  });
});
