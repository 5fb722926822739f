import { analyticsQuery } from "@/lib/analytics/schemas";
import { defaultBucket, resolveRange, usageBreakdown, usageSeries, usageTotals } from "@/lib/analytics/usage";
import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

/** Usage over a filtered range: totals, a per-hour or per-day series, and a breakdown by model, user or key. */
export const GET = withSession({ role: "admin" }, async ({ req, actor }) => {
  const q = parseQuery(req, analyticsQuery);
  const range = resolveRange(q);
  const bucket = q.bucket ?? defaultBucket(range);
  const [totals, series, breakdown] = await Promise.all([
    usageTotals(db(), actor, q, range),
    usageSeries(db(), actor, q, bucket, range),
    usageBreakdown(db(), actor, q, q.by, range),
  ]);
  return json({ range, bucket, by: q.by, totals, series, breakdown });
});
