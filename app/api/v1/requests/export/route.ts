import { exportAnswer } from "@/lib/analytics/handlers";
import { withSession } from "@/lib/http/handler";

export const maxDuration = 300;

/** Exactly the filtered calls as CSV, streamed (admins). */
export const GET = withSession({ role: "admin" }, exportAnswer);
