import "server-only";
import { recordAudit } from "@/lib/audit/record";
import type { Actor } from "@/lib/auth/types";
import { type Db, inTransaction } from "@/lib/db/client";
import { conflict } from "@/lib/http/errors";
import { emitEvent } from "@/lib/webhooks/emit";
import { loadKeyFor, selectKey } from "./access";
import { type CreatedKey, createKey } from "./create";
import type { ApiKey } from "./types";

/**
 * Who revoked a key, as its customer is told (key.revoked): its organization (a member, the key's maker included) or
 * its owner (a person's own key), else the platform. Never a user id: platform staff stay unnamed.
 */
async function revokedBy(db: Db, actor: Actor, key: ApiKey): Promise<"organization" | "owner" | "platform"> {
  if (!actor.userId) return "platform";
  if (!key.organizationId) return actor.userId === key.userId ? "owner" : "platform";
  const [member] = await db`
    select 1 from organization_members where organization_id = ${key.organizationId} and user_id = ${actor.userId}`;
  return member ? "organization" : "platform";
}

/**
 * Revokes a key (idempotent). The gateway stops accepting it within its auth cache TTL. Who may: as for a change
 * (lib/keys/permits.ts).
 */
export async function revokeKey(db: Db, actor: Actor, id: string): Promise<ApiKey> {
  return inTransaction(db, async (tx) => {
    const before = await loadKeyFor(tx, actor, id, { forUpdate: true, action: "change" });
    if (before.status === "revoked") return before;
    await tx`update api_keys set status = 'revoked', revoked_at = now(), revoked_by = ${actor.userId} where id = ${id}`;
    const after = (await selectKey(tx, id))!;
    await emitEvent(tx, {
      accountId: after.accountId,
      type: "key.revoked",
      payload: {
        key: { id: after.id, name: after.name, prefix: after.prefix },
        member: { userId: after.userId },
        organization: after.organizationId
          ? { id: after.organizationId, slug: after.organizationSlug, name: after.organizationName }
          : null,
        revokedAt: after.revokedAt,
        revokedBy: await revokedBy(tx, actor, after),
      },
      dedupKey: `key.revoked:${id}`,
    });
    await recordAudit(tx, actor, {
      action: "key.revoke",
      targetType: "api_key",
      targetId: id,
      before,
      after,
    });
    return after;
  });
}

/**
 * A new secret with the same settings; the old key is revoked in the same transaction. Only the key's maker (or a
 * platform admin) rotates it: the new secret is returned, and it spends as its maker.
 */
export async function rotateKey(
  db: Db,
  actor: Actor,
  id: string,
  { pepper }: { pepper: string },
): Promise<CreatedKey> {
  return inTransaction(db, async (tx) => {
    const old = await loadKeyFor(tx, actor, id, { forUpdate: true, action: "rotate" });
    if (old.status !== "active") throw conflict("Only an active key can be rotated.");
    if (old.purpose === "playground")
      throw conflict(
        "The playground's key is managed by Tollgate: revoke it, and the playground makes a new one.",
      );
    const created = await createKey(
      tx,
      actor,
      {
        userId: old.userId,
        // An organization's key stays the organization's, attributed to the same member.
        organization: old.organizationId ?? undefined,
        name: old.name,
        allowedModels: old.allowedModels,
        rpmLimit: old.rpmLimit,
        tpmLimit: old.tpmLimit,
        expiresAt: old.expiresAt && old.expiresAt.getTime() > Date.now() ? old.expiresAt : null,
        // A rotated key keeps its spending limits: rotating is what an owner does after a leak.
        dailyBudgetMicros: old.dailyBudgetMicros,
        monthlyBudgetMicros: old.monthlyBudgetMicros,
      },
      { pepper, rotatedFrom: old.id },
    );
    await revokeKey(tx, actor, old.id);
    await recordAudit(tx, actor, {
      action: "key.rotate",
      targetType: "api_key",
      targetId: old.id,
      after: { replacedBy: created.key.id },
    });
    return created;
  });
}
