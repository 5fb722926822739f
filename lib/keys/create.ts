import "server-only";
import { randomUUID } from "node:crypto";
import { recordAudit } from "@/lib/audit/record";
import type { Actor } from "@/lib/auth/types";
import { type Db, inTransaction } from "@/lib/db/client";
import { AppError } from "@/lib/http/errors";
import { assertCanActFor, assertModelsExist, selectKey } from "./access";
import { generateKeySecret, hashKey, keyPrefix, managedKeySecret } from "./secret";
import type { ApiKey, KeyBudgets, KeySettings } from "./types";

export interface CreateKeyInput extends KeySettings, Partial<KeyBudgets> {
  userId: string;
}

export interface CreatedKey {
  key: ApiKey;
  /** The secret, returned exactly once. */
  secret: string;
}

/** Issues a key for a user. Only the HMAC of the secret is stored; the caller shows the secret once. */
export async function createKey(
  db: Db,
  actor: Actor,
  input: CreateKeyInput,
  {
    pepper,
    rotatedFrom,
    purpose = "app",
  }: { pepper: string; rotatedFrom?: string; purpose?: "app" | "playground" },
): Promise<CreatedKey> {
  assertCanActFor(actor, input.userId);
  if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
    throw new AppError("validation_failed", "Invalid request body: expiresAt: must be in the future", {
      issues: [{ path: "expiresAt", message: "must be in the future" }],
    });
  }
  // A managed key's secret is derived from its id (managedKeySecret); an app key's is random, shown once.
  const id = randomUUID();
  const secret = purpose === "playground" ? managedKeySecret(id, pepper) : generateKeySecret();
  return inTransaction(db, async (tx) => {
    const [owner] = await tx<{ status: string }[]>`select status from users where id = ${input.userId}`;
    if (!owner) throw new AppError("not_found", "User was not found.");
    if (owner.status !== "active")
      throw new AppError("conflict", "Keys cannot be issued to a suspended user.");
    await assertModelsExist(tx, input.allowedModels);
    const [row] = await tx<{ id: string }[]>`
      insert into api_keys (id, user_id, name, prefix, key_hash, allowed_models, rpm_limit, tpm_limit, expires_at,
                            daily_budget_micros, monthly_budget_micros, created_by, rotated_from, purpose)
      values (${id}, ${input.userId}, ${input.name}, ${keyPrefix(secret)}, ${hashKey(secret, pepper)},
              ${tx.array(input.allowedModels)}, ${input.rpmLimit}, ${input.tpmLimit}, ${input.expiresAt},
              ${input.dailyBudgetMicros ?? null}, ${input.monthlyBudgetMicros ?? null}, ${actor.userId},
              ${rotatedFrom ?? null}, ${purpose})
      returning id`;
    const key = (await selectKey(tx, row!.id))!;
    await recordAudit(tx, actor, {
      action: "key.create",
      targetType: "api_key",
      targetId: key.id,
      after: key,
    });
    return { key, secret };
  });
}
