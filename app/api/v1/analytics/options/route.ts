import { optionsAnswer } from "@/lib/analytics/handlers";
import { withSession } from "@/lib/http/handler";

/** What the filter pickers offer (admins). */
export const GET = withSession({ role: "admin" }, optionsAnswer);
