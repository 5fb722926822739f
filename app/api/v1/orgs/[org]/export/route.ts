import { db } from "@/lib/db";
import { exportOrgData } from "@/lib/gdpr/export";
import { withSession } from "@/lib/http/handler";
import { attachment } from "@/lib/http/respond";
import { parseOrgRef } from "@/lib/orgs/schemas";

export const maxDuration = 300;

/** The organization's data as one JSON download (GDPR): its owner or a platform admin. */
export const GET = withSession({}, async ({ params, actor }) => {
  const { stream, fileName } = await exportOrgData(db(), actor, parseOrgRef(params.org));
  return attachment(stream, fileName, "application/json; charset=utf-8");
});
