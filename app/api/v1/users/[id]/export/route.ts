import { db } from "@/lib/db";
import { exportUserData } from "@/lib/gdpr/export";
import { parseId } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { attachment } from "@/lib/http/respond";

export const maxDuration = 300;

/** A user's data as one JSON download (admins; a person exports their own at /api/v1/me/export). */
export const GET = withSession({ role: "admin" }, async ({ params, actor }) => {
  const { stream, fileName } = await exportUserData(db(), actor, parseId(params.id, "User"));
  return attachment(stream, fileName, "application/json; charset=utf-8");
});
