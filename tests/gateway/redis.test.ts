// Scale path: two LiteLLM replicas sharing RPM counters and auth answers through Redis (REDIS_HOST/REDIS_PORT). `npm test` always
// provides a Redis (the machine's, or one it starts: TEST_REDIS_HOST/TEST_REDIS_PORT) and then this must run;
// run alone without one, it is skipped and says so.
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { liteLLMSpec } from "@/scripts/stack/gateway";
import { ProcessGroup } from "@/scripts/stack/processes";
import { reachable } from "../../scripts/ensure.mjs";
import { TEST_GATEWAY_SECRET, TEST_MASTER_KEY, TEST_WEBHOOK_SECRET } from "../stack/start";
import { failure, startGatewayStack } from "./helpers";
import { authStats } from "./processes";

const REDIS = {
  REDIS_HOST: process.env.TEST_REDIS_HOST ?? "127.0.0.1",
  REDIS_PORT: process.env.TEST_REDIS_PORT ?? "6379",
};
const required = process.env.TEST_REDIS_PORT !== undefined;
const redisUp = await reachable(REDIS.REDIS_HOST, Number(REDIS.REDIS_PORT));

if (required && !redisUp)
  throw new Error(`Redis was promised at ${REDIS.REDIS_HOST}:${REDIS.REDIS_PORT} but does not answer`);
if (!redisUp) console.warn("redis.test.ts skipped: no Redis on 127.0.0.1:6379 (npm test starts one)");

describe.skipIf(!redisUp)(
  `two gateway replicas with Redis on ${REDIS.REDIS_HOST}:${REDIS.REDIS_PORT}`,
  () => {
    const ctx = startGatewayStack(
      "gateway-redis",
      { app: 3203, pg: 25436, litellm: 4104, upstream: 4114 },
      undefined,
      REDIS,
    );
    const second = new ProcessGroup();
    afterAll(() => second.stop());

    it("enforce one key's RPM limit together", async () => {
      await second.start(
        liteLLMSpec({
          root: process.cwd(),
          port: 4109,
          platformUrl: ctx.stack.appUrl,
          gatewaySecret: TEST_GATEWAY_SECRET,
          webhookSecret: TEST_WEBHOOK_SECRET,
          outboxPath: path.join(process.cwd(), `.data/outbox-gateway-redis-b-${Date.now()}.db`),
          masterKey: TEST_MASTER_KEY,
          upstreamUrl: ctx.stack.upstreamUrl!,
          env: REDIS,
        }),
      );
      const { secret } = await ctx.issueKey({ rpmLimit: 3 });
      const replicaA = ctx.client(secret);
      const { default: OpenAI } = await import("openai");
      const replicaB = new OpenAI({ baseURL: "http://127.0.0.1:4109/v1", apiKey: secret, maxRetries: 0 });
      const messages = [{ role: "user" as const, content: "count me" }];
      const call = (client: typeof replicaA) =>
        failure(client.chat.completions.create({ model: "fake-small", messages, max_tokens: 1 }));
      const results = [
        await call(replicaA),
        await call(replicaB),
        await call(replicaA),
        await call(replicaB),
        await call(replicaA),
      ];
      expect(results.slice(0, 3)).toEqual([null, null, null]);
      // Each replica alone has seen at most 3 requests; together they exceed the key's 3 per minute.
      expect(results.slice(3).map((r) => r?.status)).toEqual([429, 429]);
    });

    it("share auth answers: a key one replica verified is not asked of the platform by the other; a revocation reaches both", async () => {
      const stats = (port: number) => authStats(`http://127.0.0.1:${port}`);
      const { id, secret } = await ctx.issueKey();
      const { default: OpenAI } = await import("openai");
      const replicaA = ctx.client(secret);
      const replicaB = new OpenAI({ baseURL: "http://127.0.0.1:4109/v1", apiKey: secret, maxRetries: 0 });
      const messages = [{ role: "user" as const, content: "who am I" }];
      const call = (client: typeof replicaA) =>
        failure(client.chat.completions.create({ model: "fake-small", messages, max_tokens: 1 }));
      const [a0, b0] = [await stats(4104), await stats(4109)];
      expect(await call(replicaA)).toBeNull();
      expect(await call(replicaB)).toBeNull();
      const [a1, b1] = [await stats(4104), await stats(4109)];
      expect(a1.platformCalls - a0.platformCalls).toBe(1);
      expect(b1.platformCalls - b0.platformCalls).toBe(0);
      expect(b1.shared!.hits - b0.shared!.hits).toBe(1);
      expect(b1.shared!.errors).toBe(0);
      // Revoked: both replicas refuse within the auth TTL (the shared entry expires with the answer it holds). Judged
      // by when the last call either replica served was sent, not by when a refusal came back: a slow call on a
      // loaded host delays the next one, never the moment the key stopped being served.
      await ctx.sql`update api_keys set status = 'revoked', revoked_at = now() where id = ${id}`;
      const revoked = Date.now();
      let both = false;
      let lastServed = 0;
      while (Date.now() - revoked < 10_000) {
        const statuses: (number | undefined)[] = [];
        for (const replica of [replicaA, replicaB]) {
          const sent = Date.now() - revoked;
          const r = await call(replica);
          if (r?.status !== 401) lastServed = Math.max(lastServed, sent);
          statuses.push(r?.status);
        }
        if (statuses.every((s) => s === 401)) {
          both = true;
          break;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(both).toBe(true);
      expect(lastServed).toBeLessThan(5_000 + 1_000);
    });
  },
);
