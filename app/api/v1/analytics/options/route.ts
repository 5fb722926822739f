import { usageFilters } from "@/lib/analytics/schemas";
import { filterOptions, resolveRange } from "@/lib/analytics/usage";
import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

/** What the filter pickers offer (admins). */
export const GET = withSession({ role: "admin" }, async ({ req, actor }) => {
  const q = parseQuery(req, usageFilters.pick({ from: true, to: true, org: true }));
  return json(await filterOptions(db(), actor, resolveRange(q), q.org));
});
