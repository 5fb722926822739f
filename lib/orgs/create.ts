import "server-only";
import { randomBytes } from "node:crypto";
import { recordAudit } from "@/lib/audit/record";
import type { Actor } from "@/lib/auth/types";
import { isAdmin } from "@/lib/auth/visibility";
import { type Db, inTransaction, type Tx } from "@/lib/db/client";
import { AppError, conflict, forbidden } from "@/lib/http/errors";
import { enqueue } from "@/lib/queue";
import { ORG_SEAT_JOIN_JOB } from "./jobs";
import { assertMayOwnAnother } from "./limits";
import { selectOrg } from "./read";
import { isOrgSlug, slugFromName } from "./schemas";
import type { Org } from "./types";

export interface CreateOrgInput {
  name: string;
  slug?: string;
  ownerEmail?: string;
}

/**
 * Slugs to try for a name, in order: the name's own, then with -2 … -9, then with a random suffix. Never one shaped
 * like an id (isOrgSlug): a name that is a UUID starts at its -2.
 */
function slugCandidates(name: string): string[] {
  const base = slugFromName(name) || "org";
  const cut = (n: number) => base.slice(0, n).replace(/-+$/, "") || "org";
  const numbered = Array.from({ length: 8 }, (_, i) => `${cut(37)}-${i + 2}`);
  return [base, ...numbered, `${cut(33)}-${randomBytes(3).toString("hex")}`].filter(isOrgSlug);
}

async function insertOrganization(tx: Tx, name: string, slug: string, createdBy: string | null) {
  const [row] = await tx<{ id: string }[]>`
    insert into organizations (name, slug, created_by) values (${name}, ${slug}, ${createdBy})
    on conflict (slug) do nothing returning id`;
  return row?.id ?? null;
}

/**
 * Creates an organization: the organizations row, its team account on the owner's plan and its owner (the creator,
 * or for a platform admin the user named by ownerEmail), in one transaction; a developer owns at most so many
 * (lib/orgs/limits.ts). The owner's seat for the month is charged by the queue (ORG_SEAT_JOIN_JOB, enqueued here,
 * like a member who joins by invitation).
 */
export async function createOrg(db: Db, actor: Actor, input: CreateOrgInput): Promise<Org> {
  if (!actor.userId) throw forbidden("Organizations are created by a signed-in user.");
  if (input.ownerEmail !== undefined && !isAdmin(actor)) {
    throw forbidden("Only administrators can create an organization for someone else.");
  }
  const name = input.name.trim();
  return inTransaction(db, async (tx) => {
    let ownerId = actor.userId!;
    if (input.ownerEmail !== undefined) {
      const [owner] = await tx<{ id: string; status: string }[]>`
        select id, status from users where email = ${input.ownerEmail.toLowerCase()}`;
      if (!owner) {
        throw new AppError("not_found", `No user has the email ${input.ownerEmail}: create the user first.`);
      }
      if (owner.status !== "active")
        throw conflict(`${input.ownerEmail} is suspended and cannot own an organization.`);
      ownerId = owner.id;
    }
    await assertMayOwnAnother(tx, actor, ownerId);
    let id: string | null = null;
    if (input.slug !== undefined) {
      id = await insertOrganization(tx, name, input.slug, actor.userId);
      if (!id) throw conflict(`The slug ${input.slug} is taken: choose another.`);
    } else {
      for (const slug of slugCandidates(name)) {
        id = await insertOrganization(tx, name, slug, actor.userId);
        if (id) break;
      }
      if (!id) throw conflict("No free slug was found for this name: send one.");
    }
    // It starts on its owner's plan: a plan's models and limits are not escaped by spending through one's own
    // organization. A platform admin may change it later (updateOrg).
    await tx`
      insert into accounts (kind, organization_id, plan_id)
      values ('team', ${id}, (select plan_id from users where id = ${ownerId}))`;
    await tx`
      insert into organization_members (organization_id, user_id, role, invited_by)
      values (${id}, ${ownerId}, 'owner', ${ownerId === actor.userId ? null : actor.userId})`;
    await enqueue(tx, ORG_SEAT_JOIN_JOB, { organizationId: id, userId: ownerId });
    const org = (await selectOrg(tx, id, actor.userId))!;
    await recordAudit(tx, actor, {
      action: "org.create",
      targetType: "organization",
      targetId: id,
      after: { name: org.name, slug: org.slug, ownerUserId: ownerId, accountId: org.account.id },
    });
    return org;
  });
}
