// The real LiteLLM proxy with Tollgate's plugin, the fake upstream as the provider and the platform, driven
// with the official openai client as apps do.
import { describe, expect, it } from "vitest";
import { countPromptTokens } from "@/scripts/fake-upstream";
import { failure, gatewayBase, MASTER_KEY, startGatewayStack } from "./helpers";
import { authStats } from "./processes";

const ctx = startGatewayStack("gateway-auth", { app: 3200, pg: 25431, litellm: 4100, upstream: 4110 });
const messages = [{ role: "user" as const, content: "Say something about gateways" }];

describe("gateway key auth", () => {
  it("a valid key gets a completion with the upstream's usage", async () => {
    const { secret } = await ctx.issueKey();
    const res = await ctx
      .client(secret)
      .chat.completions.create({ model: "fake-small", messages, max_tokens: 12 });
    expect(res.choices[0]!.message.content!.split(" ")).toHaveLength(12);
    expect(res.usage).toMatchObject({ completion_tokens: 12, prompt_tokens: countPromptTokens(messages) });
    // The gateway records last use on the key.
    const [row] = await ctx.sql`select last_used_at from api_keys where prefix = ${secret.slice(0, 11)}`;
    expect(row!.last_used_at).not.toBeNull();
  });

  it("a valid key gets a stream, with usage in the last chunk", async () => {
    const { secret } = await ctx.issueKey();
    const stream = await ctx.client(secret).chat.completions.create({
      model: "fake-small",
      messages,
      max_tokens: 9,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: { completion_tokens: number } | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text.trim().split(" ")).toHaveLength(9);
    expect(usage?.completion_tokens).toBe(9);
  });

  it("a revoked key is refused within the auth cache TTL", async () => {
    const { id, secret } = await ctx.issueKey();
    const client = ctx.client(secret);
    await client.chat.completions.create({ model: "fake-small", messages, max_tokens: 2 }); // cache warm
    const { revokeKey } = await import("@/lib/keys/revoke");
    await revokeKey(ctx.sql, { userId: null, kind: "system" }, id);
    const revokedAt = Date.now();
    let refused: { status: number; message: string } | null = null;
    // When the last call the gateway still served was sent: what the TTL bounds. (Not when the refusal came back: on
    // a loaded host a served call can take long, and the next one is sent late.)
    let lastServedSent = 0;
    while (!refused && Date.now() - revokedAt < 8000) {
      const sent = Date.now() - revokedAt;
      refused = await failure(
        client.chat.completions.create({ model: "fake-small", messages, max_tokens: 2 }),
      );
      if (!refused) {
        lastServedSent = sent;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    expect(refused?.status).toBe(401);
    expect(refused?.message).toMatch(/revoked/);
    // TTL is 2 s in this stack (≤ 5 s in production), plus the platform's answer to the last re-verification.
    expect(lastServedSent).toBeLessThanOrEqual(2000 + 1000);
  });

  it("a key in steady use never waits for the platform after its first call: its answer is re-verified ahead of expiry", async () => {
    const stats = () => authStats(gatewayBase(ctx));
    const { secret } = await ctx.issueKey();
    const client = ctx.client(secret);
    const before = await stats();
    const call = () =>
      failure(client.chat.completions.create({ model: "fake-small", messages, max_tokens: 1 }));
    expect(await call()).toBeNull(); // the first call waits for the platform's answer
    // Then a call sent every 100 ms for 5 s (two and a half of this stack's 2 s auth TTLs), each sent on schedule
    // whether or not the one before has come back: so some fall in the last fifth (0.4 s) of every answer's life,
    // where a hit renews it, however slow this host is.
    const sent: Promise<unknown>[] = [];
    for (let i = 0; i < 50; i++) {
      sent.push(call());
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await Promise.all(sent)).toEqual(sent.map(() => null));
    const after = await stats();
    // Only the first call waited for the platform's answer; the answer was renewed behind later calls, each
    // renewal one platform request, so a key in use is still checked every TTL (what a revocation relies on). A renewal
    // the platform answers late (a loaded host) is covered by the answer's grace, a fifth of its TTL past it.
    expect(after.localMisses - before.localMisses).toBe(1);
    expect(after.refreshes - before.refreshes).toBeGreaterThanOrEqual(2);
    expect(after.platformCalls - before.platformCalls).toBe(1 + (after.refreshes - before.refreshes));
  });

  it("an unknown key and a missing key get 401 with a message a developer understands", async () => {
    const unknown = await failure(ctx.client("tg_thisKeyWasNeverIssuedByTollgate00").models.list());
    expect(unknown).toMatchObject({ status: 401 });
    expect(unknown!.message).toMatch(/Invalid API key/);
    const res = await fetch(`${ctx.stack.gatewayUrl}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "fake-small", messages }),
    });
    expect(res.status).toBe(401);
    const body = await res.json();
    expect(body.error.message).toMatch(/Missing API key|Invalid API key|No api key/i);
  });

  it("a model outside the key's allow-list gets 403", async () => {
    const { secret } = await ctx.issueKey({ allowedModels: ["fake-small"] });
    const client = ctx.client(secret);
    await client.chat.completions.create({ model: "fake-small", messages, max_tokens: 2 });
    const refused = await failure(
      client.chat.completions.create({ model: "fake-large", messages, max_tokens: 2 }),
    );
    expect(refused?.status).toBe(403);
    expect(refused?.message).toMatch(/fake-large/);
    const listed = await client.models.list();
    expect(listed.data.map((m) => m.id)).toEqual(["fake-small"]);
  });

  it("a disabled model is refused even for keys allowing every model", async () => {
    await ctx.sql`update models set enabled = false where public_name = 'fake-slow'`;
    try {
      const { secret } = await ctx.issueKey();
      const refused = await failure(
        ctx.client(secret).chat.completions.create({ model: "fake-slow", messages, max_tokens: 2 }),
      );
      expect(refused?.status).toBe(403);
    } finally {
      await ctx.sql`update models set enabled = true where public_name = 'fake-slow'`;
    }
  });

  it("an expired key gets 401", async () => {
    const { id, secret } = await ctx.issueKey();
    await ctx.sql`update api_keys set expires_at = now() - interval '1 minute' where id = ${id}`;
    const refused = await failure(
      ctx.client(secret).chat.completions.create({ model: "fake-small", messages, max_tokens: 2 }),
    );
    expect(refused?.status).toBe(401);
    expect(refused?.message).toMatch(/expired/);
  });

  it("a suspended owner's key gets 401", async () => {
    const [user] = await ctx.sql<{ id: string }[]>`
      insert into users (email, role) values ('suspend-me@example.com', 'developer') returning id`;
    const { secret } = await ctx.issueKey({ userId: user!.id });
    await ctx.sql`update users set status = 'suspended' where id = ${user!.id}`;
    const refused = await failure(
      ctx.client(secret).chat.completions.create({ model: "fake-small", messages, max_tokens: 2 }),
    );
    expect(refused?.status).toBe(401);
    expect(refused?.message).toMatch(/suspended/);
  });

  it("an RPM overrun gets 429 from LiteLLM's limiter", async () => {
    const { secret } = await ctx.issueKey({ rpmLimit: 2 });
    const client = ctx.client(secret);
    const results = [];
    for (let i = 0; i < 4; i++) {
      results.push(
        await failure(client.chat.completions.create({ model: "fake-small", messages, max_tokens: 1 })),
      );
    }
    expect(results.slice(0, 2)).toEqual([null, null]);
    expect(results[2]?.status).toBe(429);
    expect(results[2]?.message).toMatch(/[Rr]ate limit/);
  });

  it("LiteLLM's admin routes are closed to app keys; the master key reads model info", async () => {
    const { secret } = await ctx.issueKey();
    const res = await fetch(`${ctx.stack.gatewayUrl!.replace(/\/v1$/, "")}/key/generate`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: "{}",
    });
    expect(res.status).toBe(403);
    const info = await fetch(`${ctx.stack.gatewayUrl}/model/info`, {
      headers: { authorization: `Bearer ${MASTER_KEY}` },
    });
    expect(info.status).toBe(200);
    const body = await info.json();
    expect(body.data.map((d: { model_name: string }) => d.model_name)).toContain("fake-small");
  });

  it("with the platform down, an uncached key gets 503 (fail closed) and service resumes after", async () => {
    const { secret } = await ctx.issueKey();
    await ctx.stack.stopApp();
    try {
      const refused = await failure(
        ctx.client(secret).chat.completions.create({ model: "fake-small", messages, max_tokens: 2 }),
      );
      expect(refused?.status).toBe(503);
      expect(refused?.message).toMatch(/could not verify/);
    } finally {
      await ctx.stack.startApp();
    }
    await new Promise((r) => setTimeout(r, 2100)); // negative answers are not cached, but be sure
    const res = await ctx
      .client(secret)
      .chat.completions.create({ model: "fake-small", messages, max_tokens: 2 });
    expect(res.choices[0]!.message.content).toBeTruthy();
  });
});
