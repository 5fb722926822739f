import { exportFileName, exportRequests } from "@/lib/analytics/requests";
import { requestExportQuery } from "@/lib/analytics/schemas";
import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { attachment } from "@/lib/http/respond";

export const maxDuration = 300;

/** Exactly the filtered calls as CSV, streamed (admins). */
export const GET = withSession({ role: "admin" }, async ({ req, actor }) => {
  const filters = parseQuery(req, requestExportQuery);
  return attachment(
    await exportRequests(db(), actor, filters),
    exportFileName(filters),
    "text/csv; charset=utf-8",
  );
});
