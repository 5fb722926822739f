import "server-only";
import type { z } from "zod";
import { recordAudit } from "@/lib/audit/record";
import type { Actor } from "@/lib/auth/types";
import { type Db, inTransaction } from "@/lib/db/client";
import { AppError, forbidden } from "@/lib/http/errors";
import { type PolicyTarget, policyOwner, selectPolicy } from "./read";
import type { PolicyView, updatePolicyBody } from "./schemas";

const ttlRequired = () =>
  new AppError(
    "validation_failed",
    "Invalid request body: responseCache.ttlSeconds: required to turn the cache on",
    { issues: [{ path: "responseCache.ttlSeconds", message: "required to turn the cache on" }] },
  );

/**
 * Changes an account's response cache and PII guardrails: an organization's owners and admins, a person their own
 * (anyone else who may see it: 403; who may not: 404). Only what the body names changes; one transaction, audited
 * with the policy before and after. The gateway follows within its auth cache TTL (lib/keys/verify.ts answers it).
 */
export async function updatePolicy(
  db: Db,
  actor: Actor,
  target: PolicyTarget,
  input: z.output<typeof updatePolicyBody>,
): Promise<PolicyView> {
  return inTransaction(db, async (tx) => {
    const owner = await policyOwner(tx, actor, target);
    if (!owner.canChange) throw forbidden(owner.refusal ?? undefined);
    await tx`select 1 from accounts where id = ${owner.accountId} for no key update`;
    const before = await selectPolicy(tx, owner.accountId);

    const cache = input.responseCache ?? {};
    let ttl = before.responseCache.ttlSeconds;
    if (cache.enabled === false) ttl = null;
    else if (cache.ttlSeconds !== undefined) {
      // A TTL alone sets it on a cache that is on; turning one on takes enabled: true as well.
      if (cache.enabled !== true && ttl === null) throw ttlRequired();
      ttl = cache.ttlSeconds;
    } else if (cache.enabled === true && ttl === null) throw ttlRequired();
    const maxTemperature = cache.maxTemperature ?? before.responseCache.maxTemperature;

    // "off" is stored as absent (the gateway's reading: a category absent is off).
    const pii: Record<string, "mask" | "block"> = {};
    for (const [category, action] of Object.entries({ ...before.pii, ...input.pii })) {
      if (action === "mask" || action === "block") pii[category] = action;
    }

    await tx`
      update accounts set response_cache_ttl_seconds = ${ttl}, response_cache_max_temperature = ${maxTemperature},
                          pii_policy = ${tx.json(pii)}
      where id = ${owner.accountId}`;
    const after = await selectPolicy(tx, owner.accountId);
    await recordAudit(tx, actor, {
      action: "account.policy.update",
      targetType: "account",
      targetId: owner.accountId,
      before,
      after,
    });
    return {
      accountId: owner.accountId,
      organizationId: owner.organizationId,
      policy: after,
      canChange: true,
      changedBy: owner.changedBy,
    };
  });
}
