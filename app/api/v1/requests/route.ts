import { listRequests } from "@/lib/analytics/requests";
import { requestLogQuery } from "@/lib/analytics/schemas";
import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

/** The request log, newest first, filtered, paged with `nextCursor` (admins). */
export const GET = withSession({ role: "admin" }, async ({ req, actor }) =>
  json(await listRequests(db(), actor, parseQuery(req, requestLogQuery))),
);
