import "server-only";
import { randomBytes } from "node:crypto";
import { recordAudit } from "@/lib/audit/record";
import type { Actor } from "@/lib/auth/types";
import { actsAsPlatformAdmin } from "@/lib/auth/visibility";
import { config } from "@/lib/config";
import { type Db, inTransaction } from "@/lib/db/client";
import { AppError, conflict, forbidden, notFound } from "@/lib/http/errors";
import { hashKey } from "@/lib/keys/secret";
import { enqueue } from "@/lib/queue";
import { type OrgRole, orgFor } from "./access";
import { ORG_INVITE_EMAIL_JOB, ORG_SEAT_JOIN_JOB } from "./jobs";
import { assertMayInvite } from "./limits";
import type { InvitationState, InvitationView, OrgInvitation } from "./types";

// Invitations (ADR 0016, decision 8): a random 32-byte token, shown only in the emailed link and stored as its keyed
// hash (HMAC-SHA256 with KEY_PEPPER, as API keys are); valid for 7 days; accepted once by one conditional UPDATE
// that inserts the member in the same transaction. Times are tollgate_now() (now(), unless a test stands elsewhere).

export const INVITATION_DAYS = 7;

/** The stored form of an invitation token. */
export function invitationHash(token: string, pepper: string): Buffer {
  return hashKey(token, pepper);
}

/** An invitation's state, written once: accepted, else expired (if it ran out before anything ended it), else
 *  revoked, else pending. Expects organization_invitations i. */
const stateOf = (db: Db) => db`
  case when i.accepted_at is not null then 'accepted'
       when i.expires_at <= coalesce(i.revoked_at, tollgate_now()) then 'expired'
       when i.revoked_at is not null then 'revoked'
       else 'pending' end`;

const invitationColumns = (db: Db) => db`
  i.id, i.email, i.role, ${stateOf(db)} as state, i.expires_at as "expiresAt", i.created_at as "createdAt",
  ib.email as "invitedByEmail", nullif(ib.name, '') as "invitedByName"`;

/**
 * Invites an email to the organization (members.manage; only the owner invites an admin). Refused with 409 while the
 * organization is suspended, and if the email already belongs to a member or has a pending invitation (revoke it to
 * invite again; an expired one is closed first); past the organization's invitation limits (lib/orgs/limits.ts) 409
 * or 429. The email goes out through the queue (ORG_INVITE_EMAIL_JOB, enqueued in this transaction): the token lives
 * only in that job's payload until the email is sent, and in the email.
 */
export async function createInvitation(
  db: Db,
  actor: Actor,
  ref: string,
  input: { email: string; role: Exclude<OrgRole, "owner"> },
  { pepper = config().KEY_PEPPER }: { pepper?: string } = {},
): Promise<OrgInvitation> {
  const email = input.email.trim().toLowerCase();
  return inTransaction(db, async (tx) => {
    const ctx = await orgFor(tx, actor, ref, "members.manage");
    if (input.role === "admin" && ctx.role !== "owner" && !actsAsPlatformAdmin(actor)) {
      throw forbidden(`Only the owner of ${ctx.name} can invite an admin.`);
    }
    if (ctx.status !== "active") throw suspendedOrg(ctx.name);
    const [member] = await tx`
      select 1 from organization_members m join users u on u.id = m.user_id
      where m.organization_id = ${ctx.id} and u.email = ${email}`;
    if (member) throw conflict(`${email} is already a member of ${ctx.name}.`);
    // An invitation that ran out still holds the one pending slot of (organization, email): close it.
    await tx`
      update organization_invitations set revoked_at = tollgate_now()
      where organization_id = ${ctx.id} and email = ${email} and accepted_at is null and revoked_at is null
        and expires_at <= tollgate_now()`;
    await assertMayInvite(tx, actor, ctx);
    const token = randomBytes(32).toString("base64url");
    const [row] = await tx<{ id: string }[]>`
      insert into organization_invitations (organization_id, email, role, token_hash, invited_by, expires_at,
                                            created_at)
      values (${ctx.id}, ${email}, ${input.role}, ${invitationHash(token, pepper)}, ${actor.userId},
              tollgate_now() + make_interval(days => ${INVITATION_DAYS}), tollgate_now())
      on conflict (organization_id, email) where accepted_at is null and revoked_at is null do nothing
      returning id`;
    if (!row) {
      throw conflict(
        `${email} already has a pending invitation to ${ctx.name}: revoke it to send a new one.`,
      );
    }
    await enqueue(tx, ORG_INVITE_EMAIL_JOB, { invitationId: row.id, token });
    const [invitation] = await tx<OrgInvitation[]>`
      select ${invitationColumns(tx)}
      from organization_invitations i left join users ib on ib.id = i.invited_by
      where i.id = ${row.id}`;
    await recordAudit(tx, actor, {
      action: "org.invitation.create",
      targetType: "organization",
      targetId: ctx.id,
      after: { invitationId: row.id, email, role: input.role, expiresAt: invitation!.expiresAt },
    });
    return invitation!;
  });
}

/** The invitations not yet accepted or revoked (pending, or expired and not yet closed), newest first. */
export async function listInvitations(db: Db, actor: Actor, ref: string): Promise<OrgInvitation[]> {
  const ctx = await orgFor(db, actor, ref, "members.manage");
  return db<OrgInvitation[]>`
    select ${invitationColumns(db)}
    from organization_invitations i left join users ib on ib.id = i.invited_by
    where i.organization_id = ${ctx.id} and i.accepted_at is null and i.revoked_at is null
    order by i.created_at desc, i.id`;
}

/**
 * Revokes a pending invitation (members.manage): its link stops working, and an email not yet sent never goes out
 * (its token is dropped from the queued job).
 */
export async function revokeInvitation(
  db: Db,
  actor: Actor,
  ref: string,
  id: string,
): Promise<OrgInvitation> {
  return inTransaction(db, async (tx) => {
    const ctx = await orgFor(tx, actor, ref, "members.manage");
    const [revoked] = await tx<{ id: string }[]>`
      update organization_invitations set revoked_at = tollgate_now()
      where id = ${id} and organization_id = ${ctx.id} and accepted_at is null and revoked_at is null
      returning id`;
    const [invitation] = await tx<OrgInvitation[]>`
      select ${invitationColumns(tx)}
      from organization_invitations i left join users ib on ib.id = i.invited_by
      where i.id = ${id} and i.organization_id = ${ctx.id}`;
    if (!invitation) throw notFound("Invitation");
    if (!revoked) throw conflict(`This invitation is already ${invitation.state}.`);
    await tx`
      update queue_jobs set payload = payload - 'token'
      where name = ${ORG_INVITE_EMAIL_JOB} and payload->>'invitationId' = ${id}
        and state in ('created', 'retry')`;
    await recordAudit(tx, actor, {
      action: "org.invitation.revoke",
      targetType: "organization",
      targetId: ctx.id,
      after: { invitationId: id, email: invitation.email },
    });
    return invitation;
  });
}

interface InvitationRow {
  id: string;
  organizationId: string;
  organizationName: string;
  organizationSlug: string;
  email: string;
  role: Exclude<OrgRole, "owner">;
  state: InvitationState;
  expiresAt: Date;
  invitedBy: string | null;
  invitedByName: string | null;
  invitedByEmail: string | null;
  /** The signed-in user's email, and whether they are a member already. */
  viewerEmail: string | null;
  alreadyMember: boolean;
  /** Whether a user with the invited email exists. */
  accountExists: boolean;
}

/** The invitation a token names, or null; `lock` takes its row (for update) so its state holds to the commit. */
export async function findInvitation(
  db: Db,
  actor: Actor,
  token: string,
  pepper: string,
  { lock = false }: { lock?: boolean } = {},
) {
  const [row] = await db<InvitationRow[]>`
    select i.id, i.organization_id as "organizationId", o.name as "organizationName", o.slug as "organizationSlug",
           i.email, i.role, ${stateOf(db)} as state, i.expires_at as "expiresAt", i.invited_by as "invitedBy",
           nullif(ib.name, '') as "invitedByName", ib.email as "invitedByEmail",
           (select v.email from users v where v.id = ${actor.userId}) as "viewerEmail",
           exists (select 1 from organization_members m
                   where m.organization_id = i.organization_id and m.user_id = ${actor.userId}) as "alreadyMember",
           exists (select 1 from users e where e.email = i.email) as "accountExists"
    from organization_invitations i join organizations o on o.id = i.organization_id
    left join users ib on ib.id = i.invited_by
    where i.token_hash = ${invitationHash(token, pepper)}
    ${lock ? db`for update of i` : db``}`;
  return row ?? null;
}

/**
 * An invitation as its link shows it to a signed-in visitor: the organization, role, inviter, invited email and
 * state. Holding the link is what lets one see it; an unknown token is a 404.
 */
export async function getInvitation(
  db: Db,
  actor: Actor,
  token: string,
  { pepper = config().KEY_PEPPER }: { pepper?: string } = {},
): Promise<InvitationView> {
  const row = await findInvitation(db, actor, token, pepper);
  if (!row) throw notFound("Invitation");
  return {
    organization: { id: row.organizationId, name: row.organizationName, slug: row.organizationSlug },
    email: row.email,
    role: row.role,
    state: row.state,
    expiresAt: row.expiresAt,
    invitedByName: row.invitedByName,
    invitedByEmail: row.invitedByEmail,
    forYou: row.viewerEmail === row.email,
    alreadyMember: row.alreadyMember,
    // Only the invitee holds a pending link: it may tell them whether to sign in or sign up, and no one else.
    accountExists: row.state === "pending" && row.accountExists,
  };
}

const GONE: Record<Exclude<InvitationState, "pending">, string> = {
  accepted: "This invitation has already been used.",
  revoked: "This invitation was revoked: ask the organization for a new one.",
  expired: "This invitation has expired: ask the organization for a new one.",
};

/** The 409 of an organization that takes no members while it is suspended. */
export const suspendedOrg = (name: string) =>
  conflict(`${name} is suspended: it takes no new members until a platform administrator reinstates it.`);

/** The 410 of a link that no longer works, naming why. */
export const invitationGone = (state: Exclude<InvitationState, "pending">) =>
  new AppError("gone", GONE[state], { state });

/**
 * Takes a found invitation for `userId` and makes them a member, in the caller's transaction: one conditional UPDATE
 * takes the invitation if it is still pending — so of two concurrent takers one wins (410 naming the state for the
 * other) — then a suspended organization takes nobody (409, the caller's transaction undone; its row is read for
 * share, after the invitation's as createInvitation locks them, so a suspension and a join wait for each other), the
 * member is inserted (409 if already one) and their seat enqueued (ORG_SEAT_JOIN_JOB).
 */
export async function joinByInvitation(
  tx: Db,
  found: Pick<InvitationRow, "id" | "organizationId" | "organizationName" | "role" | "invitedBy">,
  userId: string,
): Promise<void> {
  const [taken] = await tx<{ id: string }[]>`
    update organization_invitations set accepted_at = tollgate_now(), accepted_by = ${userId}
    where id = ${found.id} and accepted_at is null and revoked_at is null and expires_at > tollgate_now()
    returning id`;
  if (!taken) {
    const [now] = await tx<{ state: InvitationState }[]>`
      select ${stateOf(tx)} as state from organization_invitations i where i.id = ${found.id}`;
    throw invitationGone(now!.state === "pending" ? "accepted" : now!.state);
  }
  const [org] = await tx<{ status: string }[]>`
    select status from organizations where id = ${found.organizationId} for share`;
  if (org?.status !== "active") throw suspendedOrg(found.organizationName);
  const [joined] = await tx`
    insert into organization_members (organization_id, user_id, role, invited_by)
    values (${found.organizationId}, ${userId}, ${found.role}, ${found.invitedBy})
    on conflict (organization_id, user_id) do nothing returning user_id`;
  if (!joined) throw conflict(`You are already a member of ${found.organizationName}.`);
  await enqueue(tx, ORG_SEAT_JOIN_JOB, { organizationId: found.organizationId, userId });
}

/**
 * Accepts an invitation as the signed-in user, whose email must be the invited one (403 otherwise, nothing
 * written). One conditional UPDATE takes the invitation if it is still pending — so of two concurrent accepts one
 * wins — and the member is inserted, and their seat enqueued (ORG_SEAT_JOIN_JOB), in the same transaction. A used,
 * revoked or expired link is 410, naming which; a suspended organization's 409.
 */
export async function acceptInvitation(
  db: Db,
  actor: Actor,
  token: string,
  { pepper = config().KEY_PEPPER }: { pepper?: string } = {},
): Promise<{ organization: { id: string; name: string; slug: string }; role: Exclude<OrgRole, "owner"> }> {
  if (!actor.userId) throw forbidden("Sign in to accept an invitation.");
  const userId = actor.userId;
  return inTransaction(db, async (tx) => {
    const found = await findInvitation(tx, actor, token, pepper);
    if (!found) throw notFound("Invitation");
    if (found.viewerEmail !== found.email) {
      throw forbidden(
        `This invitation is for ${found.email}, and you are signed in as ${found.viewerEmail}: sign in as ${found.email} to accept it.`,
      );
    }
    await joinByInvitation(tx, found, userId);
    await recordAudit(tx, actor, {
      action: "org.invitation.accept",
      targetType: "organization",
      targetId: found.organizationId,
      after: { invitationId: found.id, userId, role: found.role },
    });
    return {
      organization: { id: found.organizationId, name: found.organizationName, slug: found.organizationSlug },
      role: found.role,
    };
  });
}
