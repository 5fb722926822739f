import "server-only";
import type { Actor } from "@/lib/auth/types";
import { actsAsPlatformAdmin } from "@/lib/auth/visibility";
import type { Db } from "@/lib/db/client";
import { notFound } from "@/lib/http/errors";
import { orgAllows, orgFor } from "@/lib/orgs/access";
import { type AccountPolicy, PII_CATEGORIES, type PiiAction, type PolicyView } from "./schemas";

// Whose response cache and guardrails (issue 30): an organization's are seen by every member (they are subject to
// them) and changed by its owners and admins (the policies verb); a person's own by that person. Platform admins
// read every account's but change none but their own: the policy is the account owner's choice.

/** Which account's policy a request names: an organization (slug or id), else a person (the actor by default). */
export type PolicyTarget = { org: string } | { userId?: string };

export interface PolicyOwner {
  accountId: string;
  organizationId: string | null;
  canChange: boolean;
  /** Who may change it, for the pages' read-only note and the 403's message. */
  changedBy: string;
  /** Why the actor may not change it (null when they may). */
  refusal: string | null;
}

/** The account the target names as the actor may see it: 404 to anyone who may not (as if it did not exist). */
export async function policyOwner(db: Db, actor: Actor, target: PolicyTarget): Promise<PolicyOwner> {
  if ("org" in target) {
    const ctx = await orgFor(db, actor, target.org, "view");
    // Not orgAllows(…, admin): a platform admin who is not an owner or admin of the organization reads only.
    const canChange = orgAllows(ctx, "policies", false);
    const changedBy = `${ctx.name}'s owners and admins`;
    return {
      accountId: ctx.accountId,
      organizationId: ctx.id,
      canChange,
      changedBy,
      refusal: canChange
        ? null
        : ctx.role === null
          ? `The response cache and guardrails are ${ctx.name}'s choice: ${changedBy} set them; platform admins read them.`
          : `Your role in ${ctx.name} (${ctx.role}) does not allow changing its response cache and guardrails: ${changedBy} set them.`,
    };
  }
  if (!actor.userId) throw notFound("The account");
  const userId = target.userId ?? actor.userId;
  const own = userId === actor.userId;
  if (!own && !actsAsPlatformAdmin(actor)) throw notFound("The account");
  const [row] = await db<{ id: string }[]>`
    select id::text as id from accounts where owner_user_id = ${userId} and kind = 'user'`;
  if (!row) throw notFound("The account");
  return {
    accountId: row.id,
    organizationId: null,
    canChange: own,
    changedBy: own ? "you" : "its owner",
    refusal: own
      ? null
      : "A person's response cache and guardrails are their own choice: platform admins read them, only the person changes them.",
  };
}

/** The stored policy of an account, every PII category present ("off" where the stored policy has none). */
export async function selectPolicy(db: Db, accountId: string): Promise<AccountPolicy> {
  const [row] = await db<
    { ttl: number | null; maxTemperature: number; pii: Record<string, Exclude<PiiAction, "off">> }[]
  >`
    select response_cache_ttl_seconds as ttl, response_cache_max_temperature::float8 as "maxTemperature",
           pii_policy as pii
    from accounts where id = ${accountId}`;
  if (!row) throw notFound("The account");
  return {
    responseCache: { enabled: row.ttl !== null, ttlSeconds: row.ttl, maxTemperature: row.maxTemperature },
    pii: Object.fromEntries(PII_CATEGORIES.map((c) => [c, row.pii[c] ?? "off"])),
  };
}

/** The account's policy as the actor may see it, and whether they may change it. */
export async function readPolicy(db: Db, actor: Actor, target: PolicyTarget): Promise<PolicyView> {
  const owner = await policyOwner(db, actor, target);
  return {
    accountId: owner.accountId,
    organizationId: owner.organizationId,
    policy: await selectPolicy(db, owner.accountId),
    canChange: owner.canChange,
    changedBy: owner.changedBy,
  };
}
