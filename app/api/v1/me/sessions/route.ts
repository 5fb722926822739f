import { listSessions } from "@/lib/auth/sessions";
import { db } from "@/lib/db";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

export const GET = withSession({}, async ({ principal }) => {
  const sessions = await listSessions(db(), principal.userId);
  return json({ items: sessions.map((s) => ({ ...s, current: s.id === principal.sessionId })) });
});
