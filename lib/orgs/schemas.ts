import { z } from "zod";
import { newPassword } from "@/lib/auth/schemas";
import { micros } from "@/lib/billing/schemas";
import { notFound } from "@/lib/http/errors";

// The organizations API's inputs (issue 25, ADR 0016), shared by routes, verbs and client forms (no server-only).

/** The table's slug pattern (organizations_slug_check): lower-case letters, digits and dashes, 1–40 characters. */
export const ORG_SLUG = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;
export const ORG_SLUG_HINT =
  "1–40 lower-case letters, digits and dashes, starting and ending with a letter or digit";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const ORG_SLUG_NOT_ID_HINT = "must not be shaped like an id (a UUID)";

/**
 * Whether a (lower-case) value may be a slug: the pattern, and not shaped like an id — a path segment shaped like one
 * names the organization with that id (orgFor), so such a slug would let one organization answer to another's id
 * (organizations_slug_not_uuid in the table).
 */
export function isOrgSlug(value: string): boolean {
  return ORG_SLUG.test(value) && !UUID.test(value);
}

export const orgSlug = z
  .string()
  .trim()
  .toLowerCase()
  .regex(ORG_SLUG, ORG_SLUG_HINT)
  .refine((value) => !UUID.test(value), ORG_SLUG_NOT_ID_HINT);
const orgName = z.string().trim().min(1).max(100);
const email = z.string().trim().toLowerCase().pipe(z.email().max(254));
const modelName = z.string().min(1).max(128);
/** A cap or budget in micro-USD; null removes it. */
const cap = micros().nullable();

/** The slug a name gets when none is given: "Acme Labs, Inc." → "acme-labs-inc" (empty when nothing is left). */
export function slugFromName(name: string): string {
  return name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .slice(0, 40)
    .replace(/^-+|-+$/g, "");
}

export const createOrgBody = z.strictObject({
  name: orgName,
  /** Derived from the name when absent (and made unique with a suffix); a given slug that is taken is a 409. */
  slug: orgSlug.optional(),
  /** Platform admins only: the user who becomes the owner (the creator otherwise). */
  ownerEmail: email.optional(),
});

export const listOrgsQuery = z.strictObject({
  /** Platform admins: every organization, not only theirs. */
  all: z.enum(["1", "0", "true", "false"]).optional(),
  q: z.string().trim().max(200).optional(),
  page: z.coerce.number().int().min(1).max(100_000).default(1),
  pageSize: z.coerce.number().int().min(1).max(100).default(50),
});

export const updateOrgBody = z
  .strictObject({
    /** The settings verb (owner, admin). */
    name: orgName.optional(),
    dailyBudgetMicros: cap.optional(),
    monthlyBudgetMicros: cap.optional(),
    /** Narrows the plan's models (empty: every model the plan allows). */
    allowedModels: z.array(modelName).max(100).optional(),
    /** The billing verb (owner, billing): below this available balance owners and billing members are warned. */
    lowBalanceMicros: cap.optional(),
    /** Platform admins only. */
    planId: z.uuid().nullable().optional(),
    status: z.enum(["active", "suspended"]).optional(),
  })
  .refine((v) => Object.keys(v).length > 0, "send at least one field to change");

/** The roles a member can be given here or by invitation: the owner changes only by transfer. */
export const ASSIGNABLE_ROLES = ["admin", "member", "billing"] as const;
const assignableRole = z.enum(ASSIGNABLE_ROLES, {
  error: "must be admin, member or billing (ownership moves with POST …/transfer)",
});

export const updateMemberBody = z
  .strictObject({
    role: assignableRole.optional(),
    /** The member's own spend caps per UTC day / month, charges plus reservations (null: no cap). */
    dailyCapMicros: cap.optional(),
    monthlyCapMicros: cap.optional(),
  })
  .refine((v) => Object.keys(v).length > 0, "send role, dailyCapMicros and/or monthlyCapMicros");

export const transferBody = z.strictObject({ userId: z.uuid() });

export const createInvitationBody = z.strictObject({
  email,
  role: assignableRole.default("member"),
});

/** An invitation link's token: 32 random bytes, base64url (43 characters). */
export const invitationToken = z.string().regex(/^[A-Za-z0-9_-]{43}$/);

/** Sign-up by invitation (POST /api/auth/invitations/[token]/signup): the email is the invitation's, not sent. */
export const invitationSignupBody = z.strictObject({
  name: z.string().trim().min(1, "enter your name").max(120),
  password: newPassword,
});
export type InvitationSignupBody = z.input<typeof invitationSignupBody>;

export type CreateOrgBody = z.input<typeof createOrgBody>;
export type UpdateOrgBody = z.input<typeof updateOrgBody>;
export type UpdateMemberBody = z.input<typeof updateMemberBody>;
export type CreateInvitationBody = z.input<typeof createInvitationBody>;

/** Whether a path segment can name an organization (its slug, any case, or its id); anything else is no organization. */
export function isOrgRef(value: string | undefined): value is string {
  return value !== undefined && (UUID.test(value) || ORG_SLUG.test(value.toLowerCase()));
}

/** The [org] path segment: a slug or an id, else a 404 (as for an organization one may not see). */
export function parseOrgRef(value: string | undefined): string {
  if (!isOrgRef(value)) throw notFound("Organization");
  return value;
}
