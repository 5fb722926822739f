import { appendFileSync, mkdirSync } from "node:fs";
import OpenAI from "openai";
import { afterAll, beforeAll } from "vitest";
import { createClient, type Sql } from "@/lib/db/client";
import { createKey } from "@/lib/keys/create";
import type { KeySettings } from "@/lib/keys/types";
import { startTestStack, TEST_KEY_PEPPER, TEST_MASTER_KEY, type TestStack } from "../stack/start";

export interface GatewayContext {
  stack: TestStack;
  sql: Sql;
  developerId: string;
  /** Issues a key through the domain verb, as the API does, and returns its secret. */
  issueKey: (
    settings?: Partial<KeySettings> & { userId?: string },
  ) => Promise<{ id: string; secret: string }>;
  client: (apiKey: string) => OpenAI;
}

/** Starts the whole stack for this file (real PostgreSQL, next start, fake upstream, LiteLLM + plugin). */
export function startGatewayStack(
  name: string,
  ports: { app: number; pg: number; litellm: number; upstream: number },
  appEnv?: Record<string, string>,
  gatewayEnv?: Record<string, string>,
) {
  const ctx = {} as GatewayContext;
  beforeAll(async () => {
    mkdirSync("test-results/gateway", { recursive: true });
    ctx.stack = await startTestStack({
      name,
      appPort: ports.app,
      pgPort: ports.pg,
      gateway: { litellm: ports.litellm, upstream: ports.upstream, authCacheTtl: 2, env: gatewayEnv },
      appEnv,
      log: (line) => appendFileSync(`test-results/gateway/${name}.log`, `${line}\n`),
    });
    ctx.sql = createClient({ url: ctx.stack.databaseUrl, max: 4 });
    const [dev] = await ctx.sql<{ id: string }[]>`select id from users where role = 'developer' limit 1`;
    ctx.developerId = dev!.id;
    ctx.issueKey = async (settings = {}) => {
      const { key, secret } = await createKey(
        ctx.sql,
        { userId: null, kind: "system" },
        {
          userId: settings.userId ?? ctx.developerId,
          name: settings.name ?? "test key",
          allowedModels: settings.allowedModels ?? [],
          rpmLimit: settings.rpmLimit ?? null,
          tpmLimit: settings.tpmLimit ?? null,
          expiresAt: settings.expiresAt ?? null,
        },
        { pepper: TEST_KEY_PEPPER },
      );
      return { id: key.id, secret };
    };
    ctx.client = (apiKey) =>
      new OpenAI({ baseURL: ctx.stack.gatewayUrl, apiKey, maxRetries: 0, timeout: 20_000 });
  });
  afterAll(async () => {
    await ctx.sql?.end();
    await ctx.stack?.stop();
  });
  return ctx;
}

export const MASTER_KEY = TEST_MASTER_KEY;

/** The error an openai-client call ended with (status and message), or null if it succeeded. */
export async function failure(
  promise: Promise<unknown>,
): Promise<{ status: number; message: string } | null> {
  try {
    await promise;
    return null;
  } catch (error) {
    if (error instanceof OpenAI.APIError) return { status: error.status ?? 0, message: error.message };
    throw error;
  }
}
