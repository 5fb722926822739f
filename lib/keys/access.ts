import "server-only";
import type { Actor } from "@/lib/auth/types";
import { canManage } from "@/lib/auth/visibility";
import type { Db } from "@/lib/db/client";
import { AppError, forbidden, notFound } from "@/lib/http/errors";
import type { ApiKey } from "./types";

/** Admins act on any key; developers only on their own. */
export function assertCanActFor(actor: Actor, userId: string): void {
  if (!canManage(actor, userId)) {
    throw forbidden("You can only manage your own keys.");
  }
}

/** The columns of an ApiKey (api_keys k joined with users u); budget counters read through window_used, charges
 *  through window_charged (SQL: the counter less the window's live reservations). */
export const keyColumns = (db: Db) => db`
  k.id, k.user_id as "userId", u.email as "ownerEmail", k.name, k.prefix, k.status,
  k.allowed_models as "allowedModels", k.rpm_limit as "rpmLimit", k.tpm_limit as "tpmLimit",
  k.expires_at as "expiresAt", k.created_at as "createdAt", k.last_used_at as "lastUsedAt",
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

export async function selectKey(db: Db, id: string, { forUpdate = false } = {}): Promise<ApiKey | null> {
  const [key] = await db<ApiKey[]>`
    select ${keyColumns(db)}
    from api_keys k join users u on u.id = k.user_id
    where k.id = ${id}
    ${forUpdate ? db`for update of k` : db``}`;
  return key ?? null;
}

/** The key, if the actor may act on it; otherwise 404 (a developer learns nothing about others' keys). */
export async function loadKeyFor(
  db: Db,
  actor: Actor,
  id: string,
  options?: { forUpdate?: boolean },
): Promise<ApiKey> {
  const key = await selectKey(db, id, options);
  if (!key) throw notFound("API key");
  try {
    assertCanActFor(actor, key.userId);
  } catch {
    throw notFound("API key");
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
