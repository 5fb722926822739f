import "server-only";
import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import type { SessionContext } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { exportRequests, listRequests, requestDetail } from "./requests";
import { analyticsQuery, requestLogQuery, usageFilters } from "./schemas";
import {
  defaultBucket,
  filterOptions,
  resolveRange,
  usageBreakdown,
  usageSeries,
  usageTotals,
} from "./usage";

// The usage and request-log answers, shared by the admin's routes (/api/v1/analytics, /api/v1/requests: the whole
// platform) and the developer's (/api/v1/me/…: the libraries scope a developer to their own calls, without cost).

/** Usage over a filtered range: totals, a per-hour or per-day series, and a breakdown. */
export async function usageAnswer({ req, actor }: SessionContext) {
  const q = parseQuery(req, analyticsQuery);
  const range = resolveRange(q);
  const bucket = q.bucket ?? defaultBucket(range);
  const [totals, series, breakdown] = await Promise.all([
    usageTotals(db(), actor, q, range),
    usageSeries(db(), actor, q, bucket, range),
    usageBreakdown(db(), actor, q, q.by, range),
  ]);
  return json({ range, bucket, by: q.by, totals, series, breakdown });
}

/** What the filter pickers offer: models and error classes seen in the range, users and keys. */
export async function optionsAnswer({ req, actor }: SessionContext) {
  const q = parseQuery(req, usageFilters.pick({ from: true, to: true }));
  return json(await filterOptions(db(), actor, resolveRange(q)));
}

/** The request log, newest first, filtered, paged with `nextCursor`. */
export async function requestsAnswer({ req, actor }: SessionContext) {
  return json(await listRequests(db(), actor, parseQuery(req, requestLogQuery)));
}

/** One call with its hold or lease, the ledger transaction that charged it and its price version. */
export async function requestAnswer({ params, actor }: SessionContext) {
  return json({ request: await requestDetail(db(), actor, params.id ?? "") });
}

/** Exactly the filtered calls as CSV, streamed (constant memory), UTC times, money as exact decimal dollars. */
export async function exportAnswer({ req, actor }: SessionContext) {
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
}
