import { byokReport } from "@/lib/analytics/byok";
import { usageFilters } from "@/lib/analytics/schemas";
import { ownView } from "@/lib/auth/visibility";
import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

/** The signed-in person's own calls served with their provider keys (with ?org=, the organization's they may see). */
export const GET = withSession({}, async ({ req, actor }) =>
  json(await byokReport(db(), ownView(actor), parseQuery(req, usageFilters))),
);
