import "server-only";
import type { Actor } from "@/lib/auth/types";
import { actsAsPlatformAdmin } from "@/lib/auth/visibility";
import { config } from "@/lib/config";
import type { Tx } from "@/lib/db/client";
import { conflict } from "@/lib/http/errors";
import { tooManyAttempts } from "@/lib/security/attempts";

// Abuse limits of organizations, one home for their rules (the numbers are settings: ORG_MAX_* in lib/config.ts).
// Without them any developer could make organizations without end (an account factory) and send invitation emails
// without end, each naming an organization the sender chose. Platform admins are not limited.

/**
 * Before `ownerId` becomes the owner of one more organization (created, or handed over): a developer owns at most
 * ORG_MAX_OWNED_PER_USER (409 beyond). Locks the user's row, so owners made at the same moment count each other.
 */
export async function assertMayOwnAnother(tx: Tx, actor: Actor, ownerId: string): Promise<void> {
  if (actsAsPlatformAdmin(actor)) return;
  const limit = config().ORG_MAX_OWNED_PER_USER;
  await tx`select 1 from users where id = ${ownerId} for no key update`;
  const [row] = await tx<{ owned: number }[]>`
    select count(*)::int as owned from organization_members where user_id = ${ownerId} and role = 'owner'`;
  if (row!.owned < limit) return;
  throw conflict(
    ownerId === actor.userId
      ? `You own ${row!.owned} organizations, the most a developer may own (${limit}): hand one over or delete one first, or ask a platform administrator.`
      : `That member owns ${row!.owned} organizations already, the most a developer may own (${limit}).`,
  );
}

/**
 * Before an organization sends one more invitation: at most ORG_MAX_PENDING_INVITATIONS pending at once (409: revoke
 * some, or wait for them to be accepted or to expire) and ORG_MAX_INVITATIONS_PER_HOUR made in any rolling hour,
 * revoked ones included (429 with Retry-After: when the hour's oldest counted invitation leaves the window). Times are
 * tollgate_now(). Locks the organization's row, so invitations made at the same moment count each other.
 */
export async function assertMayInvite(
  tx: Tx,
  actor: Actor,
  org: { id: string; name: string },
): Promise<void> {
  if (actsAsPlatformAdmin(actor)) return;
  const { ORG_MAX_PENDING_INVITATIONS: maxPending, ORG_MAX_INVITATIONS_PER_HOUR: perHour } = config();
  await tx`select 1 from organizations where id = ${org.id} for no key update`;
  const [pending] = await tx<{ n: number }[]>`
    select count(*)::int as n from organization_invitations
    where organization_id = ${org.id} and accepted_at is null and revoked_at is null and expires_at > tollgate_now()`;
  if (pending!.n >= maxPending) {
    throw conflict(
      `${org.name} has ${pending!.n} pending invitations, the most an organization may have (${maxPending}): revoke some, or wait for them to be accepted or to expire.`,
    );
  }
  // The perHour-th newest invitation of the last hour: once it is an hour old, fewer than perHour remain.
  const [edge] = await tx<{ retryAfter: number }[]>`
    select greatest(1, ceil(extract(epoch from (created_at + interval '1 hour' - tollgate_now()))))::int
             as "retryAfter"
    from organization_invitations
    where organization_id = ${org.id} and created_at > tollgate_now() - interval '1 hour'
    order by created_at desc offset ${perHour - 1} limit 1`;
  if (edge) {
    throw tooManyAttempts(
      `${org.name} has sent ${perHour} invitations in the last hour, the most an organization may: try again in ${Math.ceil(edge.retryAfter / 60)} minute(s).`,
      edge.retryAfter,
    );
  }
}
