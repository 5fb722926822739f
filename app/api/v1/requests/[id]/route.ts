import { requestDetail } from "@/lib/analytics/requests";
import { db } from "@/lib/db";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

/** One call with its hold or lease, ledger transaction and price version (admins). */
export const GET = withSession({ role: "admin" }, async ({ params, actor }) =>
  json({ request: await requestDetail(db(), actor, params.id ?? "") }),
);
