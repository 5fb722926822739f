import { db } from "@/lib/db";
import { exportUserData } from "@/lib/gdpr/export";
import { withSession } from "@/lib/http/handler";
import { attachment } from "@/lib/http/respond";

export const maxDuration = 300;

/** The signed-in person's own data as one JSON download (GDPR), streamed. */
export const GET = withSession({}, async ({ actor }) => {
  const { stream, fileName } = await exportUserData(db(), actor, actor.userId!);
  return attachment(stream, fileName, "application/json; charset=utf-8");
});
