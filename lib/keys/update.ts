import { recordAudit } from "@/lib/audit/record";
import type { Actor } from "@/lib/auth/types";
import { type Db, inTransaction } from "@/lib/db/client";
import { conflict } from "@/lib/http/errors";
import { assertModelsExist, loadKeyFor, selectKey } from "./access";
import type { ApiKey, KeySettings } from "./types";

/** Changes a key's name, model list, limits or expiry. Revoked keys stay as they were. */
export async function updateKey(
  db: Db,
  actor: Actor,
  id: string,
  input: Partial<KeySettings>,
): Promise<ApiKey> {
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
        expires_at = ${input.expiresAt !== undefined ? input.expiresAt : before.expiresAt}
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
