import { signOutSession } from "@/lib/auth/sessions";
import { db } from "@/lib/db";
import { parseId } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

/** Signs out one of the caller's own sessions (for example a forgotten browser). */
export const DELETE = withSession({}, async ({ params, principal, actor }) => {
  await signOutSession(db(), { ...actor, userId: principal.userId }, parseId(params.id, "Session"));
  return json({ ok: true });
});
