import { changePassword } from "@/lib/auth/password-change";
import { changePasswordBody } from "@/lib/auth/schemas";
import { config } from "@/lib/config";
import { db } from "@/lib/db";
import { parseJson } from "@/lib/http/body";
import { AppError } from "@/lib/http/errors";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

/**
 * Changes the caller's password (local sign-in only): the current password is required, wrong guesses are
 * throttled per user, and every other session is signed out; this one stays signed in.
 */
export const POST = withSession({}, async ({ req, principal, actor }) => {
  const cfg = config();
  if (principal.via !== "local") {
    throw new AppError("bad_request", "Passwords are managed by Supabase in this deployment.");
  }
  const input = await parseJson(req, changePasswordBody, 8 * 1024);
  const result = await changePassword(
    db(),
    { ...actor, userId: principal.userId },
    { ...input, keepSessionId: principal.sessionId ?? null },
    { perUser: cfg.LOGIN_MAX_ATTEMPTS_PER_EMAIL, windowSeconds: cfg.LOGIN_WINDOW_SECONDS },
  );
  return json({ ok: true, sessionsSignedOut: result.sessionsSignedOut });
});
