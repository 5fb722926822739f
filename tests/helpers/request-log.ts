import { listRequests } from "@/lib/analytics/requests";
import { requestLogQuery } from "@/lib/analytics/schemas";
import type { Sql } from "@/lib/db/client";
import { ADMIN_ACTOR } from "./billing";

/** The hour either side of `ms`, as a request log or export query's range. */
export const hourAround = (ms: number) => ({
  from: new Date(ms - 3_600_000).toISOString(),
  to: new Date(ms + 3_600_000).toISOString(),
});

/**
 * An admin's request log over the hour either side of `ms`, with more of its query's filters (as the route parses
 * them): the calls a test just recorded around its own clock.
 */
export function adminLogAround(sql: Sql, adminId: string, ms: number, filters: Record<string, unknown> = {}) {
  return listRequests(sql, ADMIN_ACTOR(adminId), requestLogQuery.parse({ ...hourAround(ms), ...filters }));
}
