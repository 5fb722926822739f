import { requestsAnswer } from "@/lib/analytics/handlers";
import { withSession } from "@/lib/http/handler";

/** The developer's own calls only (the analytics libraries scope a non-admin to their user; no provider cost). */
export const GET = withSession({}, requestsAnswer);
