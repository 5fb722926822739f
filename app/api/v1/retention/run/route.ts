import { recordAudit } from "@/lib/audit/record";
import { db } from "@/lib/db";
import { inTransaction } from "@/lib/db/client";
import { parseJson } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { scheduleRetention, utcDayOf } from "@/lib/retention/run";
import { runRetentionBody } from "@/lib/retention/schemas";

/** Admins run today's retention now (the drain runs it): the same job as the cron's, at most one per UTC day. */
export const POST = withSession({ role: "admin" }, async ({ req, actor }) => {
  await parseJson(req, runRetentionBody);
  const scheduled = await inTransaction(db(), async (tx) => {
    const result = await scheduleRetention(tx, utcDayOf(new Date()), "manual");
    await recordAudit(tx, actor, {
      action: "retention.run",
      targetType: "queue_job",
      targetId: result.jobId,
    });
    return result;
  });
  return json(scheduled, { status: scheduled.created ? 201 : 200 });
});
