import "server-only";
import type { Actor } from "@/lib/auth/types";
import { isAdmin } from "@/lib/auth/visibility";
import { containsPattern, type Db } from "@/lib/db/client";
import { forbidden } from "@/lib/http/errors";
import { orgFor } from "./access";
import type { Org, OrgAccount, OrgAdminRow, OrgSummary } from "./types";

// Reading organizations: the actor's own list, every organization for platform admins, one organization with its
// account. Who may read is orgFor's answer (lib/orgs/access.ts); lists are scoped in their WHERE.

/** The columns of an OrgSummary: organizations o, their account a, the actor's membership m (may be null). */
const summaryColumns = (db: Db) => db`
  o.id, o.slug, o.name, o.status, o.created_at as "createdAt", m.role, a.id as "accountId",
  a.balance_micros as "balanceMicros", a.held_micros as "heldMicros",
  (a.balance_micros - a.held_micros)::bigint as "availableMicros",
  (select count(*)::int from organization_members c where c.organization_id = o.id) as "memberCount"`;

/** The organizations the actor belongs to, with their role, available balance and member count. */
export async function listMyOrgs(db: Db, actor: Actor): Promise<OrgSummary[]> {
  if (!actor.userId) return [];
  return db<OrgSummary[]>`
    select ${summaryColumns(db)}
    from organization_members m join organizations o on o.id = m.organization_id
      join accounts a on a.organization_id = o.id
    where m.user_id = ${actor.userId}
    order by lower(o.name), o.slug`;
}

/** Every organization (platform admins): owner, members, balance, this month's charges, seat fees due. */
export async function listAllOrgs(
  db: Db,
  actor: Actor,
  query: { q?: string; page: number; pageSize: number },
): Promise<{ items: OrgAdminRow[]; total: number }> {
  if (!isAdmin(actor)) throw forbidden("Only administrators can list every organization.");
  const pattern = containsPattern(query.q);
  const where = db`
    where (${pattern}::text is null or o.name ilike ${pattern} or o.slug ilike ${pattern}
           or ow.email ilike ${pattern})`;
  const from = db`
    organizations o join accounts a on a.organization_id = o.id
    left join organization_members om on om.organization_id = o.id and om.role = 'owner'
    left join users ow on ow.id = om.user_id
    left join organization_members m on m.organization_id = o.id and m.user_id = ${actor.userId}`;
  const [items, [count]] = await Promise.all([
    db<OrgAdminRow[]>`
      select ${summaryColumns(db)}, om.user_id as "ownerUserId", ow.email as "ownerEmail",
             window_charged(a.month_used_micros, a.budget_month, a.id, null, tollgate_now(), 'month')
               as "monthChargedMicros",
             a.seats_due_micros as "seatsDueMicros"
      from ${from}
      ${where}
      order by lower(o.name), o.slug
      limit ${query.pageSize} offset ${(query.page - 1) * query.pageSize}`,
    db<{ n: bigint }[]>`select count(*) as n from ${from} ${where}`,
  ]);
  return { items, total: Number(count!.n) };
}

/** The columns of an OrgAccount (accounts a, their plan p, billing_settings s); counters read as window_used and
 *  window_charged read them (clause 26: a window from an earlier UTC day or month counts as 0). */
const accountColumns = (db: Db) => db`
  a.id as "accountId", a.balance_micros as "balanceMicros", a.held_micros as "heldMicros",
  (a.balance_micros - a.held_micros)::bigint as "availableMicros",
  (select coalesce(sum(l.reserved_micros), 0) from leases l
   where l.account_id = a.id and l.status in ('open', 'closing'))::bigint as "leasedMicros",
  a.daily_budget_micros as "dailyBudgetMicros", a.monthly_budget_micros as "monthlyBudgetMicros",
  window_used(a.day_used_micros, a.budget_day, tollgate_now(), 'day') as "todaySpentMicros",
  window_used(a.month_used_micros, a.budget_month, tollgate_now(), 'month') as "monthSpentMicros",
  window_charged(a.day_used_micros, a.budget_day, a.id, null, tollgate_now(), 'day') as "todayChargedMicros",
  window_charged(a.month_used_micros, a.budget_month, a.id, null, tollgate_now(), 'month') as "monthChargedMicros",
  coalesce(a.low_balance_micros, s.low_balance_micros) as "lowBalanceMicros",
  a.low_balance_micros as "ownLowBalanceMicros",
  a.plan_id as "planId", p.name as "planName", coalesce(p.allowed_models, '{}') as "planAllowedModels",
  p.seat_price_micros as "seatPriceMicros", a.allowed_models as "allowedModels",
  a.seats_due_micros as "seatsDueMicros"`;

type OrgRow = Omit<Org, "account"> & Omit<OrgAccount, "id"> & { accountId: string };

/** The organization by id with its account and the actor's role, read with no authorization (callers check it). */
export async function selectOrg(db: Db, id: string, actorUserId: string | null): Promise<Org | null> {
  const [row] = await db<OrgRow[]>`
    select o.id, o.slug, o.name, o.status, o.created_at as "createdAt", m.role,
           (select count(*)::int from organization_members c where c.organization_id = o.id) as "memberCount",
           om.user_id as "ownerUserId", ow.email as "ownerEmail", ${accountColumns(db)}
    from organizations o join accounts a on a.organization_id = o.id
    left join plans p on p.id = a.plan_id left join billing_settings s on true
    left join organization_members m on m.organization_id = o.id and m.user_id = ${actorUserId}
    left join organization_members om on om.organization_id = o.id and om.role = 'owner'
    left join users ow on ow.id = om.user_id
    where o.id = ${id}`;
  if (!row) return null;
  const {
    id: orgId,
    slug,
    name,
    status,
    createdAt,
    role,
    memberCount,
    ownerUserId,
    ownerEmail,
    accountId,
    ...rest
  } = row;
  return {
    id: orgId,
    slug,
    name,
    status,
    createdAt,
    role,
    memberCount,
    ownerUserId,
    ownerEmail,
    account: { id: accountId, ...rest },
  };
}

/** The organization (slug or id) as the actor may see it: its account, the actor's role, its member count. */
export async function getOrg(db: Db, actor: Actor, ref: string): Promise<Org> {
  const ctx = await orgFor(db, actor, ref, "view");
  return (await selectOrg(db, ctx.id, actor.userId))!;
}
