import "server-only";
import { recordAudit } from "@/lib/audit/record";
import type { Actor } from "@/lib/auth/types";
import { type Db, inTransaction } from "@/lib/db/client";
import { AppError, conflict } from "@/lib/http/errors";
import { assertModelsExist, loadKeyFor, selectKey } from "./access";
import type { ApiKey, KeyBudgets, KeySettings } from "./types";

/**
 * Changes a key's name, model list, limits, expiry, budgets or its use of the account's response cache: its owner
 * or an admin (anyone else: 404); an organization's key as lib/keys/permits.ts says (a key of its owner or an
 * admin: 403 to its other admins). A key's budgets are its owner's spending limit on that key (a leaked key spends
 * at most that); what an admin holds a developer to is the account's budgets and plan, which only admins change.
 * Revoked keys stay as they were. The gateway follows within its auth cache TTL: budgets and models are in the
 * lease epoch, so a lease granted under the old ones goes back at the key's next call and a new grant fits what the
 * new budget leaves.
 */
export async function updateKey(
  db: Db,
  actor: Actor,
  id: string,
  input: Partial<KeySettings> & Partial<KeyBudgets> & { responseCache?: boolean },
): Promise<ApiKey> {
  if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
    throw new AppError("validation_failed", "Invalid request body: expiresAt: must be in the future", {
      issues: [{ path: "expiresAt", message: "must be in the future" }],
    });
  }
  return inTransaction(db, async (tx) => {
    const before = await loadKeyFor(tx, actor, id, { forUpdate: true, action: "change" });
    if (before.status !== "active") throw conflict("A revoked key cannot be changed.");
    if (input.allowedModels) await assertModelsExist(tx, input.allowedModels);
    await tx`
      update api_keys set
        name = ${input.name ?? before.name},
        allowed_models = ${tx.array(input.allowedModels ?? before.allowedModels)},
        rpm_limit = ${input.rpmLimit !== undefined ? input.rpmLimit : before.rpmLimit},
        tpm_limit = ${input.tpmLimit !== undefined ? input.tpmLimit : before.tpmLimit},
        expires_at = ${input.expiresAt !== undefined ? input.expiresAt : before.expiresAt},
        response_cache = ${input.responseCache ?? before.responseCache},
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
