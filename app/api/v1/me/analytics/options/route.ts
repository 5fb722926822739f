import { usageFilters } from "@/lib/analytics/schemas";
import { filterOptions, resolveRange } from "@/lib/analytics/usage";
import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

/** The developer's own calls only (the analytics libraries scope a non-admin to their user; no provider cost). */
export const GET = withSession({}, async ({ req, actor }) => {
  const q = parseQuery(req, usageFilters.pick({ from: true, to: true }));
  return json(await filterOptions(db(), actor, resolveRange(q)));
});
