import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

/** Who am I: the signed-in user. */
export const GET = withSession({}, async ({ principal }) =>
  json({
    user: { id: principal.userId, email: principal.email, name: principal.name, role: principal.role },
    auth: { provider: principal.via, sessionId: principal.sessionId ?? null },
  }),
);
