import "server-only";
import { recordAudit } from "@/lib/audit/record";
import type { Actor } from "@/lib/auth/types";
import { isAdmin } from "@/lib/auth/visibility";
import { type Db, inTransaction } from "@/lib/db/client";
import { conflict, forbidden } from "@/lib/http/errors";
import { assertModelsExist, loadKeyFor, selectKey } from "./access";
import type { ApiKey, KeyBudgets, KeySettings } from "./types";

/** Changes a key's name, model list, limits, expiry or (admins) budgets. Revoked keys stay as they were. */
export async function updateKey(
  db: Db,
  actor: Actor,
  id: string,
  input: Partial<KeySettings> & Partial<KeyBudgets>,
): Promise<ApiKey> {
  const settingBudgets = input.dailyBudgetMicros !== undefined || input.monthlyBudgetMicros !== undefined;
  if (settingBudgets && !isAdmin(actor)) {
    throw forbidden("Only administrators set key budgets.");
  }
  return inTransaction(db, async (tx) => {
    const before = await loadKeyFor(tx, actor, id, { forUpdate: true });
    if (before.status !== "active") throw conflict("A revoked key cannot be changed.");
    if (input.allowedModels) await assertModelsExist(tx, input.allowedModels);
    await tx`
      update api_keys set
        name = ${input.name ?? before.name},
        allowed_models = ${tx.array(input.allowedModels ?? before.allowedModels)},
        rpm_limit = ${input.rpmLimit !== undefined ? input.rpmLimit : before.rpmLimit},
        tpm_limit = ${input.tpmLimit !== undefined ? input.tpmLimit : before.tpmLimit},
        expires_at = ${input.expiresAt !== undefined ? input.expiresAt : before.expiresAt},
        daily_budget_micros = ${input.dailyBudgetMicros !== undefined ? input.dailyBudgetMicros : before.dailyBudgetMicros},
        monthly_budget_micros = ${input.monthlyBudgetMicros !== undefined ? input.monthlyBudgetMicros : before.monthlyBudgetMicros}
      where id = ${id}`;
    const after = (await selectKey(tx, id))!;
    await recordAudit(tx, actor, {
      action: "key.update",
      targetType: "api_key",
      targetId: id,
      before,
      after,
    });
    return after;
  });
}
