export const ROLES = ["admin", "developer"] as const;
export type Role = (typeof ROLES)[number];
export const USER_STATUSES = ["active", "suspended"] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

/** Who is calling: a signed-in, active user. */
export interface Principal {
  userId: string;
  email: string;
  name: string;
  role: Role;
  via: "local" | "supabase";
  /** The local session behind this request (local auth only). */
  sessionId?: string;
}

/** The requester's context that audit entries carry. */
export interface Actor {
  userId: string | null;
  kind: "user" | "system" | "gateway" | "cron";
  role?: Role;
  requestId?: string;
  ip?: string | null;
  /** "own": a view of the actor's own rows ("My calls", "My usage", "My API keys"), whatever their role. */
  view?: "own";
}

export const SESSION_COOKIE = "tg_session";
