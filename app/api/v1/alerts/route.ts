import { listEpisodes } from "@/lib/analytics/alerts";
import { alertsQuery } from "@/lib/analytics/schemas";
import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

/** Alert episodes, open ones first (`?state=open` for the banner). */
export const GET = withSession({ role: "admin" }, async ({ req, actor }) =>
  json({ items: await listEpisodes(db(), actor, parseQuery(req, alertsQuery)) }),
);
