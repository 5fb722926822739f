import { listRequests } from "@/lib/analytics/requests";
import { requestLogQuery } from "@/lib/analytics/schemas";
import { ownView } from "@/lib/auth/visibility";
import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

/** The signed-in person's own calls only, whatever their role (ownView; provider cost for admins only). */
export const GET = withSession({}, async ({ req, actor }) =>
  json(await listRequests(db(), ownView(actor), parseQuery(req, requestLogQuery))),
);
