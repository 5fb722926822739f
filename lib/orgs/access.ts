import "server-only";
import type { Actor } from "@/lib/auth/types";
import { actsAsPlatformAdmin } from "@/lib/auth/visibility";
import type { Db } from "@/lib/db/client";
import { forbidden, notFound } from "@/lib/http/errors";

// Who may do what in an organization (ADR 0016, decision 9), written once: every organization route and page asks
// here. Platform admins may do everything in every organization; a member what their role allows; anyone else
// learns nothing (404, as if the organization did not exist).

export const ORG_ROLES = ["owner", "admin", "member", "billing"] as const;
export type OrgRole = (typeof ORG_ROLES)[number];

/** The verbs of an organization, each allowed to the roles listed. */
export const ORG_VERBS = {
  /** See the organization, its balance and its members' names and roles. */
  view: ["owner", "admin", "member", "billing"],
  /** Spend through keys and the playground (within caps). */
  spend: ["owner", "admin", "member"],
  /** Create and revoke one's own keys of the organization. */
  "keys.own": ["owner", "admin", "member"],
  /** Every member's keys: list, edit, revoke (not make or rotate: lib/keys/permits.ts; the owner's and admins' keys
   *  only by the owner). */
  "keys.manage": ["owner", "admin"],
  /** Invite, remove, change roles (not the owner's), set caps. */
  "members.manage": ["owner", "admin"],
  /** Every member's spend, by member, key and model. */
  "usage.all": ["owner", "admin", "billing"],
  /** Top up, redeem codes, see payments and statements, set the low-balance threshold. */
  billing: ["owner", "billing"],
  /** Monthly statements and receipts (every member's spend, as usage.all). */
  statements: ["owner", "admin", "billing"],
  /** Usage webhooks: endpoints, their secrets, deliveries, resends and replays (lib/webhooks). */
  webhooks: ["owner", "admin"],
  /** The response cache and PII guardrails (lib/policies; every member sees them through view). Platform admins
   *  read them but do not change them: lib/policies/read.ts asks orgAllows without the admin override. */
  policies: ["owner", "admin"],
  /** Provider keys (BYOK, lib/providers): store, test, delete, and the platform-fallback choice; members see them
   *  masked through view. */
  credentials: ["owner", "admin"],
  /** Rename, models, budgets: the organization's settings. */
  settings: ["owner", "admin"],
  /** Hand the organization to another member; delete it. */
  ownership: ["owner"],
} as const satisfies Record<string, readonly OrgRole[]>;
export type OrgVerb = keyof typeof ORG_VERBS;

export interface OrgContext {
  id: string;
  slug: string;
  name: string;
  status: "active" | "suspended";
  accountId: string;
  /** The actor's role; null for a platform admin who is not a member. */
  role: OrgRole | null;
}

/** Whether a member with this role (or a platform admin, role null with admin true) may do the verb. */
export function orgAllows(ctx: Pick<OrgContext, "role">, verb: OrgVerb, admin: boolean): boolean {
  if (admin) return true;
  return ctx.role !== null && (ORG_VERBS[verb] as readonly OrgRole[]).includes(ctx.role);
}

/**
 * The organization named by slug or id as the actor may act on it: 404 if it does not exist or the actor is not a
 * member (and not a platform admin), 403 if the actor's role does not allow the verb. `guards` names the resource the
 * organization was reached through (a webhook endpoint's id): its 404 then names that resource, so a stranger learns
 * no more of an id that names one of the organization's than of an id that names nothing.
 */
export async function orgFor(
  db: Db,
  actor: Actor,
  ref: string,
  verb: OrgVerb,
  { guards = "Organization" }: { guards?: string } = {},
): Promise<OrgContext> {
  const byId = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(ref);
  const [row] = await db<OrgContext[]>`
    select o.id, o.slug, o.name, o.status, a.id as "accountId", m.role
    from organizations o join accounts a on a.organization_id = o.id
    left join organization_members m on m.organization_id = o.id and m.user_id = ${actor.userId}
    where ${byId ? db`o.id = ${ref}::uuid` : db`o.slug = ${ref.toLowerCase()}`}`;
  const admin = actsAsPlatformAdmin(actor);
  if (!row || (row.role === null && !admin)) throw notFound(guards);
  if (!orgAllows(row, verb, admin)) {
    throw forbidden(`Your role in ${row.name} (${row.role}) does not allow this.`);
  }
  return row;
}
