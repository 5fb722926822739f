import { randomUUID } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import OpenAI from "openai";
import { afterAll, beforeAll } from "vitest";
import { creditAccount } from "@/lib/billing/ledger";
import { createClient, type Sql } from "@/lib/db/client";
import { createKey } from "@/lib/keys/create";
import type { KeySettings } from "@/lib/keys/types";
import {
  startTestStack,
  TEST_CRON_SECRET,
  TEST_GATEWAY_SECRET,
  TEST_KEY_PEPPER,
  TEST_MASTER_KEY,
  TEST_SESSION_SECRET,
  TEST_WEBHOOK_SECRET,
  type TestStack,
} from "../stack/start";

export interface GatewayContext {
  stack: TestStack;
  sql: Sql;
  developerId: string;
  /** Issues a key through the domain verb, as the API does, and returns its secret. */
  issueKey: (
    settings?: Partial<KeySettings> & { userId?: string },
  ) => Promise<{ id: string; secret: string }>;
  client: (apiKey: string) => OpenAI;
  /** Adds a secret the run's logs must never contain (a customer's provider key, …). */
  addSecret: (secret: string) => void;
}

/** Starts the whole stack for this file (real PostgreSQL, next start, fake upstream, LiteLLM + plugin). */
export function startGatewayStack(
  name: string,
  ports: { app: number; pg: number; litellm: number; upstream: number },
  appEnv?: Record<string, string>,
  gatewayEnv?: Record<string, string>,
) {
  const ctx = {} as GatewayContext;
  // Every secret this stack sees: none may appear in its logs (the platform's, LiteLLM's, the upstream's).
  const secrets = [
    TEST_GATEWAY_SECRET,
    TEST_WEBHOOK_SECRET,
    TEST_MASTER_KEY,
    TEST_KEY_PEPPER,
    TEST_SESSION_SECRET,
    TEST_CRON_SECRET,
  ];
  const logFile = `test-results/gateway/${name}.log`;
  ctx.addSecret = (secret) => secrets.push(secret);
  beforeAll(async () => {
    mkdirSync("test-results/gateway", { recursive: true });
    ctx.stack = await startTestStack({
      name,
      appPort: ports.app,
      pgPort: ports.pg,
      gateway: { litellm: ports.litellm, upstream: ports.upstream, authCacheTtl: 2, env: gatewayEnv },
      appEnv,
      log: (line) => appendFileSync(logFile, `${line}\n`),
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
      secrets.push(secret);
      return { id: key.id, secret };
    };
    ctx.client = (apiKey) =>
      new OpenAI({ baseURL: ctx.stack.gatewayUrl, apiKey, maxRetries: 0, timeout: 20_000 });
  });
  afterAll(async () => {
    await ctx.sql?.end();
    await ctx.stack?.stop();
    // Secrets are hashed or compared, never logged: the whole run's output holds none of them.
    const text = existsSync(logFile) ? readFileSync(logFile, "utf8") : "";
    const leaked = secrets.filter((s) => text.includes(s));
    if (leaked.length)
      throw new Error(
        `${logFile} contains ${leaked.length} secret(s), e.g. one starting ${leaked[0]!.slice(0, 6)}`,
      );
  });
  return ctx;
}

export const MASTER_KEY = TEST_MASTER_KEY;

/** The error an openai-client call ended with (status and message), or null if it succeeded. */
/**
 * The failures of a burst that are neither a refusal for the balance (402) nor a 503 to retry because the platform did
 * not answer a reservation or the key's first verification within the gateway's two tries (a loaded host; charged
 * nothing, contract clause 64), each as "status message": what a burst's test expects to be empty.
 */
export function unexpectedFailures(results: ({ status: number; message: string } | null)[]): string[] {
  return results
    .filter(
      (r) =>
        r &&
        r.status !== 402 &&
        !(r.status === 503 && /could not reserve funds|could not verify this API key/.test(r.message)),
    )
    .map((r) => `${r!.status} ${r!.message}`);
}

export async function failure(
  promise: Promise<unknown>,
): Promise<{ status: number; message: string } | null> {
  try {
    await promise;
    return null;
  } catch (error) {
    if (error instanceof OpenAI.APIConnectionError)
      return { status: 0, message: `${error.message} ${causes(error)}` };
    if (error instanceof OpenAI.APIError) return { status: error.status ?? 0, message: error.message };
    throw error;
  }
}

/** A connection error's causes, innermost last (`fetch failed` ← `other side closed` / ECONNRESET …), for the report. */
function causes(error: unknown): string {
  const chain: string[] = [];
  for (
    let e = (error as { cause?: unknown }).cause;
    e && chain.length < 5;
    e = (e as { cause?: unknown }).cause
  ) {
    const { code, message } = e as { code?: string; message?: string };
    chain.push([code, message].filter(Boolean).join(" "));
  }
  return `(${chain.join(" ← ")})`;
}

/** A new developer with a balance (micro-USD) and a key, calling through the gateway with the openai client. */
export async function customer(ctx: GatewayContext, balanceMicros: bigint) {
  const [user] = await ctx.sql<{ id: string }[]>`
    insert into users (email, role) values (${`${randomUUID()}@example.com`}, 'developer') returning id`;
  const [account] = await ctx.sql<
    { id: string }[]
  >`select id from accounts where owner_user_id = ${user!.id}`;
  if (balanceMicros > 0n) {
    await creditAccount(
      ctx.sql,
      { userId: null, kind: "system" },
      {
        accountId: account!.id,
        amountMicros: balanceMicros,
        kind: "topup",
        reason: "test",
        idempotencyKey: randomUUID(),
      },
    );
  }
  const key = await ctx.issueKey({ userId: user!.id });
  return { userId: user!.id, accountId: account!.id, ...key, client: ctx.client(key.secret) };
}

/** Waits until nothing is held on the account (its lease went back when idle and every event settled). */
export async function settledBalance(ctx: GatewayContext, accountId: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await balanceOf(ctx, accountId);
    if (row.held_micros === 0n || Date.now() > deadline) return row;
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function balanceOf(ctx: GatewayContext, accountId: string) {
  const [row] = await ctx.sql<{ balance_micros: bigint; held_micros: bigint }[]>`
    select balance_micros, held_micros from accounts where id = ${accountId}`;
  return row!;
}

export interface UsageRowSeen {
  call_id: string;
  status: string;
  billing_status: string;
  model_group: string;
  prompt_tokens: number;
  completion_tokens: number;
  revenue_micros: bigint;
  stream: boolean;
}

/** Waits until the gateway's webhooks have delivered `count` usage rows for the key. */
export async function usageRowsOf(ctx: GatewayContext, keyId: string, count: number, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const rows = await ctx.sql<UsageRowSeen[]>`
      select call_id, status, billing_status(status) as billing_status, model_group, prompt_tokens, completion_tokens, revenue_micros, stream
      from usage_events where key_id = ${keyId} order by id`;
    if (rows.length >= count || Date.now() > deadline) return rows;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The gateway's base URL (without /v1), for its own routes. */
export const gatewayBase = (ctx: GatewayContext) => ctx.stack.gatewayUrl!.replace(/\/v1$/, "");

/** The fake upstream's failing models sold by another unit than tokens, each priced like its healthy twin. */
const FAILING_TWINS: Record<string, string> = {
  "fake-image-error": "fake-image",
  "fake-tts-error": "fake-tts",
  "fake-whisper-error": "fake-whisper",
};

/**
 * Puts the fake upstream's test models in the catalog at fake-small's demo price ($0.50 / $1.50 per million), or,
 * named in `like` (by default each failing model's healthy twin), at the price in force of a demo model sold by
 * another unit (a failing image model priced per image like fake-image: a model is served only on the routes its
 * price bills, billing contract clause 44).
 */
export async function addTestModels(
  ctx: GatewayContext,
  names: string[],
  like: Record<string, string> = FAILING_TWINS,
) {
  for (const name of names) {
    const model = like[name];
    if (model) {
      await ctx.sql`
        with m as (
          insert into models (public_name, litellm_model_group, provider, context_window, max_output_tokens)
          values (${name}, ${name}, 'fake', 16384, 4096) returning id
        )
        insert into price_versions
        select (jsonb_populate_record(null::price_versions, to_jsonb(pv) || jsonb_build_object(
          'id', gen_random_uuid(), 'model_id', m.id, 'effective_from', now() - interval '1 hour'))).*
        from m, models src cross join lateral price_version_at(src.id, now()) pv
        where src.public_name = ${model}`;
      continue;
    }
    await ctx.sql`
      with m as (
        insert into models (public_name, litellm_model_group, provider, context_window, max_output_tokens)
        values (${name}, ${name}, 'fake', 16384, 4096) returning id
      )
      insert into price_versions (model_id, effective_from, input_cost_micros, output_cost_micros, input_price_micros, output_price_micros)
      select id, now() - interval '1 hour', 300000, 900000, 500000, 1500000 from m`;
  }
}
