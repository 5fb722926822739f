import "server-only";
import { randomUUID } from "node:crypto";
import { recordAudit } from "@/lib/audit/record";
import type { Actor } from "@/lib/auth/types";
import { actsAsPlatformAdmin } from "@/lib/auth/visibility";
import { type Db, inTransaction, type Tx } from "@/lib/db/client";
import { AppError, conflict, forbidden } from "@/lib/http/errors";
import { type OrgRole, orgAllows, orgFor } from "@/lib/orgs/access";
import { assertCanActFor, assertModelsExist, selectKey } from "./access";
import { generateKeySecret, hashKey, keyPrefix, managedKeySecret } from "./secret";
import type { ApiKey, KeyBudgets, KeySettings } from "./types";

export interface CreateKeyInput extends KeySettings, Partial<KeyBudgets> {
  /** Whose key it is: the person, or for an organization's key the member it is attributed to. */
  userId: string;
  /** The organization (slug or id) whose account the key spends from; none: the user's own account. */
  organization?: string;
}

export interface CreatedKey {
  key: ApiKey;
  /** The secret, returned exactly once. */
  secret: string;
}

/**
 * The account an organization's key spends from, if the actor may issue it for the user: the actor's role holds keys
 * (keys.own: not billing; platform admins pass), the key's user is a member whose role holds keys, and the key is
 * the actor's own — a key spends as the member it is attributed to, within that member's caps, so only a platform
 * admin makes one in another member's name (owners and admins manage members' keys: edit, revoke).
 */
async function organizationAccount(tx: Tx, actor: Actor, organization: string, userId: string) {
  const org = await orgFor(tx, actor, organization, "keys.own");
  const platformAdmin = actsAsPlatformAdmin(actor);
  if (userId !== actor.userId && !platformAdmin) {
    throw forbidden(
      `A key of ${org.name} is made by the member it spends as: ask them to make it (only a platform administrator makes one for another member).`,
    );
  }
  if (org.status !== "active") throw conflict(`${org.name} is suspended: it cannot be issued keys.`);
  // FOR SHARE: a removal of this member waits for the key to be made, then revokes it with the member's others.
  const [member] = await tx<{ role: OrgRole }[]>`
    select role from organization_members where organization_id = ${org.id} and user_id = ${userId} for share`;
  if (!member || !orgAllows(member, "keys.own", false)) {
    throw conflict(`Keys of ${org.name} are issued to its members who use keys (not its billing members).`);
  }
  return org.accountId;
}

/**
 * Issues a key for a user, spending from their own account or (input.organization) from an organization's, attributed
 * to the user. Only the HMAC of the secret is stored; the caller shows the secret once.
 */
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
  if (input.organization === undefined) assertCanActFor(actor, input.userId);
  if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
    throw new AppError("validation_failed", "Invalid request body: expiresAt: must be in the future", {
      issues: [{ path: "expiresAt", message: "must be in the future" }],
    });
  }
  // A managed key's secret is derived from its id (managedKeySecret); an app key's is random, shown once.
  const id = randomUUID();
  const secret = purpose === "playground" ? managedKeySecret(id, pepper) : generateKeySecret();
  return inTransaction(db, async (tx) => {
    const accountId =
      input.organization !== undefined
        ? await organizationAccount(tx, actor, input.organization, input.userId)
        : null;
    const [owner] = await tx<{ status: string }[]>`select status from users where id = ${input.userId}`;
    if (!owner) throw new AppError("not_found", "User was not found.");
    if (owner.status !== "active")
      throw new AppError("conflict", "Keys cannot be issued to a suspended user.");
    await assertModelsExist(tx, input.allowedModels);
    // account_id null: the key_account trigger gives a person's key its user's own account.
    const [row] = await tx<{ id: string }[]>`
      insert into api_keys (id, user_id, account_id, name, prefix, key_hash, allowed_models, rpm_limit, tpm_limit, expires_at,
                            daily_budget_micros, monthly_budget_micros, created_by, rotated_from, purpose)
      values (${id}, ${input.userId}, ${accountId}, ${input.name}, ${keyPrefix(secret)}, ${hashKey(secret, pepper)},
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
