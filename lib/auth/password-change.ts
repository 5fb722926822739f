import "server-only";
import { recordAudit } from "@/lib/audit/record";
import { type Db, inTransaction } from "@/lib/db/client";
import { AppError, conflict, notFound } from "@/lib/http/errors";
import { clearBuckets, giveBackAttempt, takeAttempt, tooManyAttempts } from "@/lib/security/attempts";
import { hashPassword, verifyPassword } from "./password";
import type { Actor } from "./types";

export interface PasswordGuessLimits {
  /** Wrong current passwords allowed per user in a window (the sign-in's per-email allowance). */
  perUser: number;
  windowSeconds: number;
}

/**
 * A signed-in user changes their password: the current one must be right (guesses counted per user like sign-in
 * guesses, so a stolen session cannot brute-force it), the new one is stored as argon2id, and every other session
 * of the user is signed out in the same transaction; the session that made the change stays. Audit-logged.
 */
export async function changePassword(
  db: Db,
  actor: Actor & { userId: string },
  input: { currentPassword: string; newPassword: string; keepSessionId: string | null },
  limits: PasswordGuessLimits,
): Promise<{ sessionsSignedOut: number }> {
  const bucket = `password:${actor.userId}`;
  const taken = await takeAttempt(db, [{ bucket, limit: limits.perUser }], limits.windowSeconds);
  if (!taken.taken) {
    throw tooManyAttempts(
      `Too many wrong current passwords. Try again in ${Math.ceil(taken.retryAfter / 60)} minute(s).`,
      taken.retryAfter,
    );
  }
  const [user] = await db<{ password_hash: string | null }[]>`
    select password_hash from users where id = ${actor.userId} and status = 'active'`;
  if (!user) throw notFound("User");
  if (!user.password_hash) {
    await giveBackAttempt(db, [bucket], taken.windowStart);
    throw new AppError("bad_request", "This account has no password to change: it signs in another way.");
  }
  if (!(await verifyPassword(user.password_hash, input.currentPassword))) {
    throw new AppError("forbidden", "Your current password is not correct; nothing was changed.", {
      issues: [{ path: "currentPassword", message: "is not correct" }],
    });
  }
  const hash = await hashPassword(input.newPassword);
  const sessionsSignedOut = await inTransaction(db, async (tx) => {
    // Only over the password that was verified: of two changes checked against the same old password, the later
    // one finds the hash moved and changes nothing. The row lock also orders this against sign-ins in flight
    // (createSession): their sessions are either signed out below or never created.
    const changed = await tx`
      update users set password_hash = ${hash}
      where id = ${actor.userId} and status = 'active' and password_hash = ${user.password_hash}
      returning id`;
    if (changed.length === 0) {
      throw conflict(
        "Your password was changed by another request meanwhile; nothing was changed. Sign in again.",
      );
    }
    const revoked = await tx`
      update sessions set revoked_at = now()
      where user_id = ${actor.userId} and revoked_at is null
        and (${input.keepSessionId}::uuid is null or id <> ${input.keepSessionId})
      returning id`;
    await recordAudit(tx, actor, {
      action: "user.password_change",
      targetType: "user",
      targetId: actor.userId,
      after: { sessionsSignedOut: revoked.length, keptSessionId: input.keepSessionId },
    });
    return revoked.length;
  });
  // The right password ends the count: the earlier misses were the owner's own.
  await clearBuckets(db, [bucket]);
  return { sessionsSignedOut };
}
