import { randomUUID } from "node:crypto";
import { creditAccount } from "@/lib/billing/ledger";
import type { UsageEvent } from "@/lib/billing/settle";
import type { Sql } from "@/lib/db/client";
import { insertUser } from "./users";

export const SYSTEM = { userId: null, kind: "system" as const };
export const ADMIN_ACTOR = (userId: string) => ({ userId, kind: "user" as const, role: "admin" as const });

/** fake-small at $0.50 / $1.50 per million input/output tokens (cost $0.30 / $0.90). */
export const PRICE = { input: 500_000n, output: 1_500_000n, inputCost: 300_000n, outputCost: 900_000n };

/**
 * A model with a price version in force from `effectiveFrom`: by default three days before the database's now,
 * for tests on the real clock; a test standing at simulated moments passes its clock's `since`
 * (tests/helpers/clock.ts).
 */
export async function seedPricedModel(
  sql: Sql,
  name = "fake-small",
  price = PRICE,
  maxOutput = 4096,
  { effectiveFrom }: { effectiveFrom?: Date } = {},
) {
  const [model] = await sql<{ id: string }[]>`
    insert into models (public_name, litellm_model_group, provider, context_window, max_output_tokens)
    values (${name}, ${name}, 'fake', 16384, ${maxOutput})
    on conflict (public_name) do update set max_output_tokens = excluded.max_output_tokens returning id`;
  const priceVersionId = await seedPrice(sql, model!.id, price, effectiveFrom);
  return { modelId: model!.id, priceVersionId };
}

/** A price version of a model, in force from `effectiveFrom` (default: three days before the database's now). */
export async function seedPrice(sql: Sql, modelId: string, price = PRICE, effectiveFrom?: Date) {
  const [version] = await sql<{ id: string }[]>`
    insert into price_versions (model_id, effective_from, input_cost_micros, output_cost_micros, input_price_micros, output_price_micros)
    values (${modelId}, ${effectiveFrom ?? sql`now() - interval '3 days'`}, ${price.inputCost}, ${price.outputCost},
            ${price.input}, ${price.output})
    returning id`;
  return version!.id;
}

export async function insertKey(sql: Sql, userId: string, extra: { dailyBudgetMicros?: bigint } = {}) {
  const [row] = await sql<{ id: string }[]>`
    insert into api_keys (user_id, name, prefix, key_hash, daily_budget_micros)
    values (${userId}, 'billing test', 'tg_test', ${Buffer.from(randomUUID())}, ${extra.dailyBudgetMicros ?? null})
    returning id`;
  return row!.id;
}

export async function accountOf(sql: Sql, userId: string) {
  const [row] = await sql<{ id: string; balance_micros: bigint; held_micros: bigint }[]>`
    select id, balance_micros, held_micros from accounts where owner_user_id = ${userId}`;
  return row!;
}

export async function topUp(sql: Sql, adminId: string, accountId: string, amountMicros: bigint) {
  return creditAccount(sql, ADMIN_ACTOR(adminId), {
    accountId,
    amountMicros,
    kind: "topup",
    reason: "test top-up",
    idempotencyKey: randomUUID(),
  });
}

/** A usage event started and ended at the real now, unless given: a test at simulated moments passes its own. */
export function event(keyId: string, callId: string, overrides: Partial<UsageEvent> = {}): UsageEvent {
  const now = new Date().toISOString();
  return {
    callId,
    keyId,
    modelGroup: "fake-small",
    providerModel: "openai/fake-small",
    status: "success",
    stream: false,
    promptTokens: 100,
    completionTokens: 50,
    cachedTokens: 0,
    reportedCostMicros: 0,
    startedAt: now,
    endedAt: now,
    errorClass: null,
    ...overrides,
  };
}

/** A developer (`email`) with a key, their account funded by `adminId` with `micros` through the ledger. */
export async function fundedCustomer(
  sql: Sql,
  adminId: string,
  email: string,
  micros = 10_000_000n,
): Promise<{ userId: string; keyId: string; accountId: string }> {
  const userId = await insertUser(sql, { email });
  const keyId = await insertKey(sql, userId);
  const account = await accountOf(sql, userId);
  await topUp(sql, adminId, account.id, micros);
  return { userId, keyId, accountId: account.id };
}
