import { usageFilters } from "@/lib/analytics/schemas";
import { filterOptions, resolveRange } from "@/lib/analytics/usage";
import { ownView } from "@/lib/auth/visibility";
import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

/** The signed-in person's own calls only, whatever their role (ownView; provider cost for admins only). */
export const GET = withSession({}, async ({ req, actor }) => {
  const q = parseQuery(req, usageFilters.pick({ from: true, to: true, org: true }));
  return json(await filterOptions(db(), ownView(actor), resolveRange(q), q.org));
});
