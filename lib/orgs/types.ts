import type { OrgRole } from "./access";

// What the organizations API answers (money in integer micro-USD; "today" and "this month" are UTC, as caps and
// budgets count them). The client derives its JSON shapes with Json<T> (lib/json.ts).

export type { OrgRole };

/** One of the actor's organizations (GET /api/v1/orgs). */
export interface OrgSummary {
  id: string;
  slug: string;
  name: string;
  status: "active" | "suspended";
  /** The actor's role; null for a platform admin who is not a member. */
  role: OrgRole | null;
  accountId: string;
  balanceMicros: bigint;
  heldMicros: bigint;
  /** balance − held: what new calls can reserve (negative while the account is in deficit). */
  availableMicros: bigint;
  memberCount: number;
  createdAt: Date;
}

/** Every organization, as platform admins list them (GET /api/v1/orgs?all=1). */
export interface OrgAdminRow extends OrgSummary {
  ownerUserId: string | null;
  ownerEmail: string | null;
  /** Charged (settled calls) in the current UTC month. */
  monthChargedMicros: bigint;
  seatsDueMicros: bigint;
}

/** The organization's account: balance, reservations, budgets and what they count, threshold, plan, models. */
export interface OrgAccount {
  id: string;
  balanceMicros: bigint;
  heldMicros: bigint;
  availableMicros: bigint;
  /** The part of heldMicros that live balance leases reserve. */
  leasedMicros: bigint;
  dailyBudgetMicros: bigint | null;
  monthlyBudgetMicros: bigint | null;
  /** What the budgets count in the UTC day and month: charges plus the reservations made then. */
  todaySpentMicros: bigint;
  monthSpentMicros: bigint;
  /** What has been charged (settled calls only) in the UTC day and month. */
  todayChargedMicros: bigint;
  monthChargedMicros: bigint;
  /** The warning threshold in force (the organization's own, else the platform default). */
  lowBalanceMicros: bigint;
  ownLowBalanceMicros: bigint | null;
  planId: string | null;
  planName: string | null;
  /** The plan's models (empty: every enabled model); allowedModels narrows them. */
  planAllowedModels: string[];
  seatPriceMicros: bigint | null;
  allowedModels: string[];
  /** Seat fees the balance could not pay; while above zero, calls are refused with 402. */
  seatsDueMicros: bigint;
}

/** GET /api/v1/orgs/[org]. */
export interface Org {
  id: string;
  slug: string;
  name: string;
  status: "active" | "suspended";
  createdAt: Date;
  role: OrgRole | null;
  memberCount: number;
  ownerUserId: string | null;
  ownerEmail: string | null;
  account: OrgAccount;
}

/** A member with their caps and what their calls count against them (GET …/members). */
export interface OrgMember {
  userId: string;
  name: string;
  email: string;
  role: OrgRole;
  dailyCapMicros: bigint | null;
  monthlyCapMicros: bigint | null;
  /** What the caps count in the UTC day and month: charges plus the reservations made then (the cap's counter). */
  todaySpentMicros: bigint;
  monthSpentMicros: bigint;
  /** What the member's calls on the organization were charged (settled) in the UTC day and month. */
  todayChargedMicros: bigint;
  monthChargedMicros: bigint;
  /** What the member's open holds and live leases on the organization reserve right now. */
  reservedMicros: bigint;
  joinedAt: Date;
  invitedByEmail: string | null;
}

export type InvitationState = "pending" | "accepted" | "revoked" | "expired";

/** An invitation as the organization's managers see it (GET …/invitations). */
export interface OrgInvitation {
  id: string;
  email: string;
  role: Exclude<OrgRole, "owner">;
  state: InvitationState;
  expiresAt: Date;
  createdAt: Date;
  invitedByEmail: string | null;
  invitedByName: string | null;
}

/** An invitation as its link shows it to a signed-in visitor (GET /api/v1/invitations/[token]). */
export interface InvitationView {
  organization: { id: string; name: string; slug: string };
  email: string;
  role: Exclude<OrgRole, "owner">;
  state: InvitationState;
  expiresAt: Date;
  invitedByName: string | null;
  invitedByEmail: string | null;
  /** Whether the signed-in user's email is the invited one (only they can accept). */
  forYou: boolean;
  /** Whether the signed-in user already is a member of the organization. */
  alreadyMember: boolean;
  /**
   * Whether an account with the invited email exists (sign in to accept) or not (sign up by invitation). Answered
   * only while the invitation is pending, to the holder of its link (false otherwise).
   */
  accountExists: boolean;
}
