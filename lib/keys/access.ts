import "server-only";
import type { Actor } from "@/lib/auth/types";
import { actsAsPlatformAdmin, canManage } from "@/lib/auth/visibility";
import type { Db } from "@/lib/db/client";
import { AppError, forbidden, notFound } from "@/lib/http/errors";
import { type OrgRole, orgAllows } from "@/lib/orgs/access";
import { type KeyAction, mayOnOrgKey } from "./permits";
import type { ApiKey } from "./types";

/** Admins act on any key; developers only on their own. */
export function assertCanActFor(actor: Actor, userId: string): void {
  if (!canManage(actor, userId)) {
    throw forbidden("You can only manage your own keys.");
  }
}

/** The columns of an ApiKey (keySource); budget counters read through window_used, charges through window_charged
 *  (SQL: the counter less the window's live reservations). */
export const keyColumns = (db: Db) => db`
  k.id, k.user_id as "userId", u.email as "ownerEmail", k.account_id as "accountId",
  ko.id as "organizationId", ko.slug as "organizationSlug", ko.name as "organizationName", km.role as "makerRole",
  k.name, k.prefix, k.status,
  k.allowed_models as "allowedModels", k.rpm_limit as "rpmLimit", k.tpm_limit as "tpmLimit",
  k.expires_at as "expiresAt", k.response_cache as "responseCache", k.created_at as "createdAt", k.last_used_at as "lastUsedAt",
  k.revoked_at as "revokedAt", k.rotated_from as "rotatedFrom", k.purpose,
  k.daily_budget_micros as "dailyBudgetMicros", k.monthly_budget_micros as "monthlyBudgetMicros",
  window_used(k.day_used_micros, k.budget_day, tollgate_now(), 'day') as "todaySpentMicros",
  window_used(k.month_used_micros, k.budget_month, tollgate_now(), 'month') as "monthSpentMicros",
  window_charged(k.day_used_micros, k.budget_day, null, k.id, tollgate_now(), 'day') as "todayChargedMicros",
  window_charged(k.month_used_micros, k.budget_month, null, k.id, tollgate_now(), 'month') as "monthChargedMicros",
  ((select coalesce(sum(h.amount_micros), 0) from holds h where h.key_id = k.id and h.status = 'open')
   + (select coalesce(sum(l.reserved_micros), 0) from leases l
      where l.key_id = k.id and l.status in ('open', 'closing')))::bigint as "reservedMicros",
  (select coalesce(sum(l.reserved_micros), 0) from leases l
   where l.key_id = k.id and l.status in ('open', 'closing'))::bigint as "leasedMicros"`;

/** What keyColumns reads from: the key k, its maker u, the account ka it spends from, that account's organization
 *  ko and the maker's membership km there (none for a person's key). */
export const keySource = (db: Db) => db`
  api_keys k join users u on u.id = k.user_id join accounts ka on ka.id = k.account_id
  left join organizations ko on ko.id = ka.organization_id
  left join organization_members km on km.organization_id = ko.id and km.user_id = k.user_id`;

export async function selectKey(db: Db, id: string, { forUpdate = false } = {}): Promise<ApiKey | null> {
  const [key] = await db<ApiKey[]>`
    select ${keyColumns(db)}
    from ${keySource(db)}
    where k.id = ${id}
    ${forUpdate ? db`for update of k` : db``}`;
  return key ?? null;
}

/**
 * Whether the actor may do `action` to the key: a platform admin anything; a person's key its person (and admins);
 * an organization's key as lib/keys/permits.ts says (its maker while a member who holds keys, its owners and admins
 * to view; a key of the owner or an admin changed by the owner or its maker; a rotation by its maker). A removed
 * member is nobody to the organization's keys.
 */
export async function mayActOnKey(
  db: Db,
  actor: Actor,
  key: Pick<ApiKey, "userId" | "organizationId" | "makerRole">,
  action: KeyAction = "view",
): Promise<boolean> {
  if (!key.organizationId) return canManage(actor, key.userId);
  const platformAdmin = actsAsPlatformAdmin(actor);
  if (platformAdmin) return true;
  if (!actor.userId) return false;
  const [member] = await db<{ role: OrgRole }[]>`
    select role from organization_members
    where organization_id = ${key.organizationId} and user_id = ${actor.userId}`;
  if (!member) return false;
  const viewer = {
    userId: actor.userId,
    platformAdmin,
    owner: member.role === "owner",
    manageKeys: orgAllows(member, "keys.manage", false),
    ownKeys: orgAllows(member, "keys.own", false),
  };
  return mayOnOrgKey(viewer, key, action);
}

const REFUSED: Record<Exclude<KeyAction, "view">, (key: ApiKey) => string> = {
  change: (key) =>
    `Only the owner of ${key.organizationName} (or the member who made it) can change or revoke a key of its owner or an admin.`,
  rotate: () =>
    "Only the member who made this key can rotate it: a rotation hands out a new secret that spends as its maker.",
};

/**
 * The key, if the actor may see it (mayActOnKey "view"; otherwise 404: nothing is learnt about others' keys) and do
 * `action` to it (otherwise 403, naming who may).
 */
export async function loadKeyFor(
  db: Db,
  actor: Actor,
  id: string,
  { forUpdate, action = "view" }: { forUpdate?: boolean; action?: KeyAction } = {},
): Promise<ApiKey> {
  const key = await selectKey(db, id, { forUpdate });
  if (!key || !(await mayActOnKey(db, actor, key, "view"))) throw notFound("API key");
  if (action !== "view" && !(await mayActOnKey(db, actor, key, action))) {
    throw forbidden(REFUSED[action](key));
  }
  return key;
}

/** Every name must be a model in the catalog (enabled or not: a disabled model may come back). */
export async function assertModelsExist(db: Db, models: string[]): Promise<void> {
  if (!models.length) return;
  const rows = await db<
    { public_name: string }[]
  >`select public_name from models where public_name in ${db(models)}`;
  const known = new Set(rows.map((r) => r.public_name));
  const unknown = models.filter((m) => !known.has(m));
  if (unknown.length) {
    throw new AppError("validation_failed", `Unknown model(s): ${unknown.join(", ")}`, {
      issues: [{ path: "allowedModels", message: `unknown model(s): ${unknown.join(", ")}` }],
    });
  }
}
