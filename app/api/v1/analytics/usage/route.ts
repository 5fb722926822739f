import { usageAnswer } from "@/lib/analytics/handlers";
import { withSession } from "@/lib/http/handler";

/** Usage over a filtered range (admins: the whole platform; developers use /api/v1/me/analytics/usage). */
export const GET = withSession({ role: "admin" }, usageAnswer);
