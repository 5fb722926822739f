import { exportRequests } from "@/lib/analytics/requests";
import { usageFilters } from "@/lib/analytics/schemas";
import { resolveRange } from "@/lib/analytics/usage";
import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";

export const maxDuration = 300;

/** Exactly the filtered calls as CSV, streamed (constant memory), UTC times, money as exact decimal dollars. */
export const GET = withSession({ role: "admin" }, async ({ req, actor }) => {
  const filters = parseQuery(req, usageFilters);
  const range = resolveRange(filters);
  const name = `tollgate-requests-${range.from.toISOString().slice(0, 10)}-to-${range.to.toISOString().slice(0, 10)}.csv`;
  return new Response(exportRequests(db(), actor, filters), {
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${name}"`,
      "cache-control": "no-store",
    },
  });
});
