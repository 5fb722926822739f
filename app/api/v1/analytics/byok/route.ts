import { byokReport } from "@/lib/analytics/byok";
import { usageFilters } from "@/lib/analytics/schemas";
import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

/** Calls served with the owners' own provider keys over a filtered range: calls, share and fee revenue per model. */
export const GET = withSession({ role: "admin" }, async ({ req, actor }) =>
  json(await byokReport(db(), actor, parseQuery(req, usageFilters))),
);
