import { listSessions, signOutEverywhere } from "@/lib/auth/sessions";
import { db } from "@/lib/db";
import { clearedSessionCookie } from "@/lib/http/cookies";
import { AppError } from "@/lib/http/errors";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

export const GET = withSession({}, async ({ principal }) => {
  const sessions = await listSessions(db(), principal.userId);
  return json({ items: sessions.map((s) => ({ ...s, current: s.id === principal.sessionId })) });
});

/** "Sign out everywhere": ends every session of the caller, this one included (its cookie is cleared too). */
export const DELETE = withSession({}, async ({ principal, actor }) => {
  if (principal.via !== "local") {
    throw new AppError("bad_request", "Sessions are managed by Supabase in this deployment.");
  }
  const count = await signOutEverywhere(db(), { ...actor, userId: principal.userId });
  return json({ ok: true, sessionsSignedOut: count }, { headers: { "set-cookie": clearedSessionCookie() } });
});
