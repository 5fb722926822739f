import { exportFileName, exportRequests } from "@/lib/analytics/requests";
import { requestExportQuery } from "@/lib/analytics/schemas";
import { ownView } from "@/lib/auth/visibility";
import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { attachment } from "@/lib/http/respond";

export const maxDuration = 300;

/** The signed-in person's own calls only, whatever their role (ownView; provider cost for admins only). */
export const GET = withSession({}, async ({ req, actor }) => {
  const filters = parseQuery(req, requestExportQuery);
  return attachment(
    await exportRequests(db(), ownView(actor), filters),
    exportFileName(filters),
    "text/csv; charset=utf-8",
  );
});
