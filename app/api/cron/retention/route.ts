import { db } from "@/lib/db";
import { withCron } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { scheduleRetention, utcDayOf } from "@/lib/retention/run";

/**
 * Daily (vercel.json), after the settlement cron: enqueues the day's retention job (one per UTC day), which the drain
 * runs: expired usage partitions that verify are dropped, the others refused and recorded (lib/retention/run.ts).
 */
export const GET = withCron(async () => {
  const scheduled = await scheduleRetention(db(), utcDayOf(new Date()));
  return json(scheduled, { status: scheduled.created ? 201 : 200 });
});
