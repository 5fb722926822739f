import "server-only";
import { recordAudit } from "@/lib/audit/record";
import type { Actor } from "@/lib/auth/types";
import { actsAsPlatformAdmin } from "@/lib/auth/visibility";
import { formatMicros } from "@/lib/billing/money";
import { type Db, inTransaction, type Tx } from "@/lib/db/client";
import { conflict, forbidden, notFound } from "@/lib/http/errors";
import { revokeKey } from "@/lib/keys/revoke";
import { disableEndpointsMadeBy } from "@/lib/webhooks/endpoints";
import { ORG_VERBS, type OrgContext, type OrgRole, orgAllows, orgFor } from "./access";
import { assertMayOwnAnother } from "./limits";
import type { OrgMember } from "./types";

// Members of an organization: their list with caps and spend, a change of role or caps, removal (and leaving).
// Owners and admins manage members (members.manage); only the owner (or a platform admin) grants, changes or
// removes the admin role; nobody becomes owner here (transfer.ts); the owner cannot leave or be removed.

/**
 * The columns of an OrgMember (memberSource: organization_members m, users u, inviter ib, reservations r).
 * Spent: the cap counters as the caps count them (window_used: charges plus the window's reservations). Charged: the
 * counter less the member's live reservations made in that window (member_reserved) — window_charged's rule for a
 * member.
 */
const memberColumns = (db: Db) => db`
  m.user_id as "userId", u.name, u.email, m.role,
  m.daily_cap_micros as "dailyCapMicros", m.monthly_cap_micros as "monthlyCapMicros",
  window_used(m.day_used_micros, m.budget_day, tollgate_now(), 'day') as "todaySpentMicros",
  window_used(m.month_used_micros, m.budget_month, tollgate_now(), 'month') as "monthSpentMicros",
  greatest(0, window_used(m.day_used_micros, m.budget_day, tollgate_now(), 'day') - r.day_reserved)::bigint
    as "todayChargedMicros",
  greatest(0, window_used(m.month_used_micros, m.budget_month, tollgate_now(), 'month') - r.month_reserved)::bigint
    as "monthChargedMicros",
  r.reserved as "reservedMicros",
  m.joined_at as "joinedAt", ib.email as "invitedByEmail"`;

const memberSource = (db: Db, accountId: string) => db`
  organization_members m join users u on u.id = m.user_id left join users ib on ib.id = m.invited_by
  left join lateral member_reserved(${accountId}, m.user_id, tollgate_now()) r on true`;

const ROLE_ORDER = (db: Db) =>
  db`case m.role when 'owner' then 0 when 'admin' then 1 when 'member' then 2 else 3 end`;

/** Caps and spend are shown to whoever sees every member's spend (usage.all) and to each member for themselves. */
function visibleTo(ctx: OrgContext, actor: Actor, admin: boolean) {
  const seesAll = orgAllows(ctx, "usage.all", admin);
  return (member: OrgMember): OrgMember => {
    if (seesAll || member.userId === actor.userId) return member;
    const { userId, name, email, role, joinedAt, invitedByEmail } = member;
    return { userId, name, email, role, joinedAt, invitedByEmail } as OrgMember;
  };
}

/** The organization's members, owner first, with caps and spend where the actor may see them. */
export async function listMembers(db: Db, actor: Actor, ref: string): Promise<OrgMember[]> {
  const ctx = await orgFor(db, actor, ref, "view");
  const rows = await db<OrgMember[]>`
    select ${memberColumns(db)}
    from ${memberSource(db, ctx.accountId)}
    where m.organization_id = ${ctx.id}
    order by ${ROLE_ORDER(db)}, lower(u.email)`;
  return rows.map(visibleTo(ctx, actor, actsAsPlatformAdmin(actor)));
}

async function selectMember(db: Db, ctx: OrgContext, userId: string): Promise<OrgMember | null> {
  const [row] = await db<OrgMember[]>`
    select ${memberColumns(db)}
    from ${memberSource(db, ctx.accountId)}
    where m.organization_id = ${ctx.id} and m.user_id = ${userId}`;
  return row ?? null;
}

/**
 * Locks, in the money functions' order (keys, then members), the member's active keys on the organization's account
 * and their membership row; the member's role, or null when they are not a member.
 */
async function lockMember(
  tx: Tx,
  ctx: OrgContext,
  userId: string,
): Promise<{ role: OrgRole; keyIds: string[] } | null> {
  const activeKeys = () => tx<{ id: string }[]>`
    select id from api_keys
    where account_id = ${ctx.accountId} and user_id = ${userId} and status = 'active'
    order by id for update`;
  await activeKeys();
  const [member] = await tx<{ role: OrgRole }[]>`
    select role from organization_members where organization_id = ${ctx.id} and user_id = ${userId} for update`;
  // Read again under the member's lock: a key made meanwhile (createKey holds the member row while it makes one)
  // is committed by now and is revoked with the others.
  return member ? { role: member.role, keyIds: (await activeKeys()).map((k) => k.id) } : null;
}

/** Revokes the member's keys of the organization (lib/keys/revoke.ts: one audit entry per key). */
async function revokeOrgKeys(tx: Tx, actor: Actor, keyIds: string[]): Promise<void> {
  for (const id of keyIds) await revokeKey(tx, actor, id);
}

/** Only the owner (or a platform admin) touches an admin, or makes one. */
function assertMayTouchAdmin(ctx: OrgContext, actor: Actor, what: string): void {
  if (ctx.role !== "owner" && !actsAsPlatformAdmin(actor)) {
    throw forbidden(`Only the owner of ${ctx.name} can ${what}.`);
  }
}

/**
 * An admin whom the owner capped gives no member more room than their own (else they would spend past their cap
 * through a member they invited): each cap the admin has, the member's must be set and at most it. The owner and
 * platform admins are not held to it. (A member invited by such an admin starts within their caps: member_joins.)
 */
async function assertWithinOwnCaps(
  tx: Tx,
  ctx: OrgContext,
  actor: Actor,
  caps: { daily: bigint | null; monthly: bigint | null },
): Promise<void> {
  if (ctx.role !== "admin" || actsAsPlatformAdmin(actor)) return;
  const [own] = await tx<{ daily: bigint | null; monthly: bigint | null }[]>`
    select daily_cap_micros as daily, monthly_cap_micros as monthly from organization_members
    where organization_id = ${ctx.id} and user_id = ${actor.userId}`;
  for (const [window, mine, theirs] of [
    ["daily", own?.daily ?? null, caps.daily],
    ["monthly", own?.monthly ?? null, caps.monthly],
  ] as const) {
    if (mine !== null && (theirs === null || theirs > mine)) {
      throw forbidden(
        `Your own ${window} cap in ${ctx.name} is ${formatMicros(mine)}: a member's ${window} cap you set must be at most that. The owner can set more.`,
      );
    }
  }
}

export interface UpdateMemberInput {
  role?: Exclude<OrgRole, "owner">;
  dailyCapMicros?: bigint | null;
  monthlyCapMicros?: bigint | null;
}

/**
 * Changes a member's role and/or caps (members.manage). A demotion to billing revokes the member's organization keys
 * in the same transaction (billing members hold no keys). Role and caps are in the gateway's lease epoch.
 */
export async function updateMember(
  db: Db,
  actor: Actor,
  ref: string,
  userId: string,
  input: UpdateMemberInput,
): Promise<OrgMember> {
  return inTransaction(db, async (tx) => {
    const ctx = await orgFor(tx, actor, ref, "members.manage");
    const locked = await lockMember(tx, ctx, userId);
    if (!locked) throw notFound("Member");
    if (locked.role === "owner") {
      if (input.role !== undefined) {
        throw conflict("The owner's role changes only by a transfer of ownership (POST …/transfer).");
      }
      if (userId !== actor.userId && !actsAsPlatformAdmin(actor)) {
        throw forbidden(`Only the owner of ${ctx.name} sets the owner's caps.`);
      }
    }
    if (locked.role === "admin") assertMayTouchAdmin(ctx, actor, "change an admin");
    if (input.role === "admin" && locked.role !== "admin") assertMayTouchAdmin(ctx, actor, "make an admin");
    const before = (await selectMember(tx, ctx, userId))!;
    await assertWithinOwnCaps(tx, ctx, actor, {
      daily: input.dailyCapMicros !== undefined ? input.dailyCapMicros : before.dailyCapMicros,
      monthly: input.monthlyCapMicros !== undefined ? input.monthlyCapMicros : before.monthlyCapMicros,
    });
    const revoking = input.role === "billing" && locked.role !== "billing";
    if (revoking) await revokeOrgKeys(tx, actor, locked.keyIds);
    // Demoted below the roles that manage webhooks: the endpoints they made stop receiving the members' calls.
    if (input.role !== undefined && !(ORG_VERBS.webhooks as readonly OrgRole[]).includes(input.role))
      await disableEndpointsMadeBy(tx, actor, {
        accountId: ctx.accountId,
        userId,
        reason: `Switched off: the member who made it is no longer an admin of ${ctx.name}.`,
      });
    await tx`
      update organization_members set
        role = ${input.role ?? locked.role},
        daily_cap_micros = ${input.dailyCapMicros !== undefined ? input.dailyCapMicros : before.dailyCapMicros},
        monthly_cap_micros = ${input.monthlyCapMicros !== undefined ? input.monthlyCapMicros : before.monthlyCapMicros}
      where organization_id = ${ctx.id} and user_id = ${userId}`;
    const after = (await selectMember(tx, ctx, userId))!;
    await recordAudit(tx, actor, {
      action: "org.member.update",
      targetType: "organization",
      targetId: ctx.id,
      before: {
        userId,
        role: before.role,
        dailyCapMicros: before.dailyCapMicros,
        monthlyCapMicros: before.monthlyCapMicros,
      },
      after: {
        userId,
        role: after.role,
        dailyCapMicros: after.dailyCapMicros,
        monthlyCapMicros: after.monthlyCapMicros,
        revokedKeyIds: revoking ? locked.keyIds : [],
      },
    });
    return after;
  });
}

/**
 * Removes a member (members.manage), or lets a member leave (any role, themselves): their active keys on the
 * organization's account are revoked and their membership row deleted, in one transaction. The gateway refuses
 * those keys within its auth TTL and returns their leases; calls in flight settle as usual. The owner can neither
 * leave nor be removed (transfer first); only the owner removes an admin.
 */
export async function removeMember(
  db: Db,
  actor: Actor,
  ref: string,
  userId: string,
): Promise<{ userId: string; revokedKeyIds: string[] }> {
  const leaving = actor.userId === userId;
  return inTransaction(db, async (tx) => {
    const ctx = await orgFor(tx, actor, ref, leaving ? "view" : "members.manage");
    const locked = await lockMember(tx, ctx, userId);
    if (!locked) throw notFound("Member");
    if (locked.role === "owner") {
      throw conflict(
        leaving
          ? `The owner cannot leave ${ctx.name}: transfer the ownership to another member first.`
          : `The owner cannot be removed from ${ctx.name}: they can transfer the ownership first.`,
      );
    }
    if (locked.role === "admin" && !leaving) assertMayTouchAdmin(ctx, actor, "remove an admin");
    await revokeOrgKeys(tx, actor, locked.keyIds);
    // Whoever leaves stops receiving the members' calls through the endpoints they made.
    await disableEndpointsMadeBy(tx, actor, {
      accountId: ctx.accountId,
      userId,
      reason: `Switched off: the member who made it left ${ctx.name}.`,
    });
    await tx`delete from organization_members where organization_id = ${ctx.id} and user_id = ${userId}`;
    await recordAudit(tx, actor, {
      action: leaving ? "org.member.leave" : "org.member.remove",
      targetType: "organization",
      targetId: ctx.id,
      before: { userId, role: locked.role },
      after: { revokedKeyIds: locked.keyIds },
    });
    return { userId, revokedKeyIds: locked.keyIds };
  });
}

/**
 * Hands the organization to another member (ownership: the owner, or a platform admin). The organization row is
 * locked first, so concurrent transfers run one after the other and the second is judged against the new owner;
 * the old owner becomes an admin, then the target the owner (two statements in one transaction: the one-owner
 * index is checked row by row, so the order matters). A developer who owns as many organizations as one may
 * (lib/orgs/limits.ts) is not handed another (409).
 */
export async function transferOwnership(
  db: Db,
  actor: Actor,
  ref: string,
  targetUserId: string,
): Promise<{ ownerUserId: string; previousOwnerUserId: string }> {
  return inTransaction(db, async (tx) => {
    const first = await orgFor(tx, actor, ref, "view");
    await tx`select 1 from organizations where id = ${first.id} for update`;
    // Judged again under the lock: a transfer that committed meanwhile has changed who the owner is.
    const ctx = await orgFor(tx, actor, first.id, "ownership");
    const members = await tx<{ user_id: string; role: OrgRole }[]>`
      select user_id, role from organization_members
      where organization_id = ${ctx.id} and (role = 'owner' or user_id = ${targetUserId})
      order by user_id for update`;
    const owner = members.find((m) => m.role === "owner");
    const target = members.find((m) => m.user_id === targetUserId);
    if (!target) throw notFound("Member");
    if (!owner) throw conflict(`${ctx.name} has no owner to transfer from.`);
    if (target.role === "owner") throw conflict("That member already owns the organization.");
    await assertMayOwnAnother(tx, actor, targetUserId);
    await tx`
      update organization_members set role = 'admin'
      where organization_id = ${ctx.id} and user_id = ${owner.user_id} and role = 'owner'`;
    await tx`
      update organization_members set role = 'owner'
      where organization_id = ${ctx.id} and user_id = ${targetUserId}`;
    await recordAudit(tx, actor, {
      action: "org.transfer",
      targetType: "organization",
      targetId: ctx.id,
      before: { ownerUserId: owner.user_id, targetRole: target.role },
      after: { ownerUserId: targetUserId, previousOwnerRole: "admin" },
    });
    return { ownerUserId: targetUserId, previousOwnerUserId: owner.user_id };
  });
}
