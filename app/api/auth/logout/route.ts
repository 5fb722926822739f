import { authenticate } from "@/lib/auth";
import { revokeSession } from "@/lib/auth/sessions";
import { db } from "@/lib/db";
import { clearedSessionCookie } from "@/lib/http/cookies";
import { route } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { assertSameOriginMutation } from "@/lib/security/origin";

/** Ends the current session (idempotent: signing out twice is fine). */
export const POST = route(async ({ req }) => {
  assertSameOriginMutation(req);
  const principal = await authenticate(req);
  if (principal?.sessionId)
    await revokeSession(db(), { sessionId: principal.sessionId, userId: principal.userId });
  return json({ ok: true }, { headers: { "set-cookie": clearedSessionCookie() } });
});
