import { listRequests } from "@/lib/analytics/requests";
import { requestLogQuery } from "@/lib/analytics/schemas";
import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

/** The developer's own calls only (the analytics libraries scope a non-admin to their user; no provider cost). */
export const GET = withSession({}, async ({ req, actor }) =>
  json(await listRequests(db(), actor, parseQuery(req, requestLogQuery))),
);
