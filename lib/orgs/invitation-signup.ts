import "server-only";
import { createHash } from "node:crypto";
import { recordAudit } from "@/lib/audit/record";
import { hashPassword } from "@/lib/auth/password";
import { createSession, type NewSession } from "@/lib/auth/sessions";
import type { Actor } from "@/lib/auth/types";
import { type Db, inTransaction } from "@/lib/db/client";
import { AppError, conflict, notFound } from "@/lib/http/errors";
import { type Bucket, giveBackAttempt, takeAttempt, tooManyAttempts } from "@/lib/security/attempts";
import { insertUser } from "@/lib/users/create";
import type { OrgRole } from "./access";
import { findInvitation, invitationGone, joinByInvitation } from "./invitations";

// Sign-up by invitation (issue 25: an invitation is "accepted by signing in or signing up with that email"). There is
// no public sign-up: holding a pending invitation link for an email that has no account is what lets one create the
// account, as a developer, with that email. Local sign-in only (Supabase users sign in through Supabase, then accept).

export interface InvitationSignupLimits {
  /** Failed sign-ups per known client address per window: probing tokens (no bucket when the address is unknown). */
  perIp: number;
  /** Failed sign-ups per invitation token per window. */
  perToken: number;
  windowSeconds: number;
}

export interface InvitationSignupResult extends NewSession {
  user: { id: string; email: string; name: string; role: "developer" };
  organization: { id: string; name: string; slug: string };
  role: Exclude<OrgRole, "owner">;
}

const EXISTS = "An account with this email exists: sign in to accept the invitation.";

/**
 * The throttle's buckets: never the token itself, only a hash of it that nothing else stores. A client address only
 * when it is known (as sign-in's ip bucket, lib/auth/throttle.ts): behind no trusted proxy every client is unknown, and
 * one shared bucket would let anyone lock every invitee out with a few guesses. Guessing stays hopeless without it:
 * a token is 256 random bits, and each link has its own bucket.
 */
function buckets(ip: string | null, token: string, limits: InvitationSignupLimits): Bucket[] {
  const tokenId = createHash("sha256").update(`tollgate-invite-signup:${token}`).digest("base64url");
  const list: Bucket[] = [{ bucket: `invite-signup-token:${tokenId}`, limit: limits.perToken }];
  if (ip) list.push({ bucket: `invite-signup-ip:${ip}`, limit: limits.perIp });
  return list;
}

/**
 * Creates the invited email's account from a pending invitation and signs it in. Throttled like sign-in: an attempt
 * is taken from the token's bucket (and the client's, when its address is known) before anything is looked up (429 when either is full) and given
 * back on success, so only failures count. The password is hashed before the invitation is looked up, so an unknown
 * token (404) costs what a known one does. Then, in one transaction, with the invitation's row locked: used, revoked
 * or expired → 410 naming which; an existing account with its email → 409 (sign in to accept); else the developer
 * user (personal account by the users trigger), the membership with the invited role and its seat job
 * (joinByInvitation, the accept path's conditional UPDATE), the audit entries and the session. Nothing is written on
 * any refusal.
 */
export async function signUpByInvitation(
  db: Db,
  token: string,
  input: { name: string; password: string },
  client: { ip: string | null; userAgent: string; requestId?: string },
  options: { pepper: string; ttlHours: number; limits: InvitationSignupLimits },
): Promise<InvitationSignupResult> {
  const counted = buckets(client.ip, token, options.limits);
  const attempt = await takeAttempt(db, counted, options.limits.windowSeconds);
  if (!attempt.taken) {
    const wait = `Try again in ${Math.ceil(attempt.retryAfter / 60)} minute(s).`;
    throw tooManyAttempts(`Too many failed sign-up attempts. ${wait}`, attempt.retryAfter);
  }
  const passwordHash = await hashPassword(input.password);
  const system: Actor = { userId: null, kind: "system", requestId: client.requestId, ip: client.ip };
  const result = await inTransaction(db, async (tx) => {
    const found = await findInvitation(tx, system, token, options.pepper, { lock: true });
    if (!found) throw notFound("Invitation");
    if (found.state !== "pending") throw invitationGone(found.state);
    if (found.accountExists) throw conflict(EXISTS);
    const user = await insertUser(tx, system, {
      email: found.email,
      name: input.name,
      role: "developer",
      passwordHash,
    }).catch((error) => {
      // An administrator created the account since the check above.
      throw error instanceof AppError && error.code === "conflict" ? conflict(EXISTS) : error;
    });
    await joinByInvitation(tx, found, user.id);
    const self: Actor = { ...system, userId: user.id, kind: "user", role: "developer" };
    await recordAudit(tx, self, {
      action: "org.invitation.accept",
      targetType: "organization",
      targetId: found.organizationId,
      after: { invitationId: found.id, userId: user.id, role: found.role, signedUp: true },
    });
    const session = await createSession(tx, {
      userId: user.id,
      passwordHash,
      ttlHours: options.ttlHours,
      ip: client.ip,
      userAgent: client.userAgent,
    });
    if (!session) throw new Error("a session for a user created in this transaction was refused");
    return {
      ...session,
      user: { id: user.id, email: user.email, name: user.name, role: "developer" as const },
      organization: { id: found.organizationId, name: found.organizationName, slug: found.organizationSlug },
      role: found.role,
    };
  });
  await giveBackAttempt(
    db,
    counted.map((b) => b.bucket),
    attempt.windowStart,
  );
  return result;
}
