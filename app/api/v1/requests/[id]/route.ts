import { requestAnswer } from "@/lib/analytics/handlers";
import { withSession } from "@/lib/http/handler";

/** One call with its hold or lease, ledger transaction and price version (admins). */
export const GET = withSession({ role: "admin" }, requestAnswer);
