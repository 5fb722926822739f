import { requestsAnswer } from "@/lib/analytics/handlers";
import { withSession } from "@/lib/http/handler";

/** The request log, newest first, filtered, paged with `nextCursor` (admins). */
export const GET = withSession({ role: "admin" }, requestsAnswer);
