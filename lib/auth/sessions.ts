import "server-only";
import { createHash, randomBytes } from "node:crypto";
import { recordAudit } from "@/lib/audit/record";
import { type Db, inTransaction } from "@/lib/db/client";
import { notFound } from "@/lib/http/errors";
import type { Actor, Principal, Role } from "./types";

export function hashToken(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}

export interface NewSession {
  token: string;
  sessionId: string;
  expiresAt: Date;
}

/**
 * Issues a session: the cookie carries 256 random bits; only their SHA-256 is stored. The session is created only
 * while the user is active and their password is still the one the sign-in verified (`passwordHash`): the insert
 * shares the user's row lock, so a sign-in that checked the old password while a password change ran either
 * commits first (and the change signs its session out) or finds the new hash and creates nothing (null).
 */
export async function createSession(
  db: Db,
  {
    userId,
    passwordHash,
    ttlHours,
    ip,
    userAgent,
  }: { userId: string; passwordHash: string | null; ttlHours: number; ip: string | null; userAgent: string },
): Promise<NewSession | null> {
  const token = randomBytes(32).toString("base64url");
  const [row] = await db<{ id: string; expires_at: Date }[]>`
    insert into sessions (user_id, token_hash, expires_at, ip, user_agent)
    select u.id, ${hashToken(token)}, now() + make_interval(hours => ${ttlHours}), ${ip}, ${userAgent.slice(0, 400)}
    from users u
    where u.id = ${userId} and u.status = 'active' and u.password_hash is not distinct from ${passwordHash}
    for share
    returning id, expires_at`;
  return row ? { token, sessionId: row.id, expiresAt: row.expires_at } : null;
}

/** The active user behind a session token, or null when the token is unknown, revoked, expired or the user suspended. */
export async function findSession(db: Db, token: string): Promise<Principal | null> {
  if (!token || token.length > 200) return null;
  const [row] = await db<
    { session_id: string; user_id: string; email: string; name: string; role: Role; last_seen_at: Date }[]
  >`
    select s.id as session_id, u.id as user_id, u.email, u.name, u.role, s.last_seen_at
    from sessions s join users u on u.id = s.user_id
    where s.token_hash = ${hashToken(token)}
      and s.revoked_at is null and s.expires_at > now() and u.status = 'active'`;
  if (!row) return null;
  // Record activity at most every five minutes, not on every request.
  if (Date.now() - row.last_seen_at.getTime() > 5 * 60_000) {
    await db`update sessions set last_seen_at = now() where id = ${row.session_id}`;
  }
  return {
    userId: row.user_id,
    email: row.email,
    name: row.name,
    role: row.role,
    via: "local",
    sessionId: row.session_id,
  };
}

export async function revokeSession(
  db: Db,
  { sessionId, userId }: { sessionId: string; userId: string },
): Promise<boolean> {
  const rows = await db`
    update sessions set revoked_at = now()
    where id = ${sessionId} and user_id = ${userId} and revoked_at is null
    returning id`;
  return rows.length > 0;
}

export async function revokeAllSessions(db: Db, userId: string): Promise<number> {
  const rows =
    await db`update sessions set revoked_at = now() where user_id = ${userId} and revoked_at is null returning id`;
  return rows.length;
}

export interface SessionSummary {
  id: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  ip: string | null;
  userAgent: string;
}

export async function listSessions(db: Db, userId: string): Promise<SessionSummary[]> {
  return db<SessionSummary[]>`
    select id, created_at as "createdAt", last_seen_at as "lastSeenAt", expires_at as "expiresAt",
           host(ip) as ip, user_agent as "userAgent"
    from sessions
    where user_id = ${userId} and revoked_at is null and expires_at > now()
    order by last_seen_at desc`;
}

/** A user signs out one of their own sessions; audit-logged. */
export async function signOutSession(
  db: Db,
  actor: Actor & { userId: string },
  sessionId: string,
): Promise<void> {
  await inTransaction(db, async (tx) => {
    if (!(await revokeSession(tx, { sessionId, userId: actor.userId }))) throw notFound("Session");
    await recordAudit(tx, actor, { action: "session.revoke", targetType: "session", targetId: sessionId });
  });
}

/**
 * "Sign out everywhere": a user ends every one of their sessions, the one asking included (it must sign in again);
 * audit-logged with how many ended.
 */
export async function signOutEverywhere(db: Db, actor: Actor & { userId: string }): Promise<number> {
  return inTransaction(db, async (tx) => {
    const count = await revokeAllSessions(tx, actor.userId);
    await recordAudit(tx, actor, {
      action: "session.revoke_all",
      targetType: "user",
      targetId: actor.userId,
      after: { sessionsSignedOut: count },
    });
    return count;
  });
}
