import { scheduleAlertEvaluation } from "@/lib/analytics/alerts";
import { expireLeases } from "@/lib/billing/leases";
import { db } from "@/lib/db";
import { withCron } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { settlementOptions } from "@/lib/settlement/deps";
import { drain } from "@/lib/settlement/drain";
import { scheduleWebhookDeliveries } from "@/lib/webhooks/deliver";

export const maxDuration = 60;
// Stop claiming well inside maxDuration so the last job finishes before the platform cuts the function.
const BUDGET_MS = 40_000;

/**
 * Frequent (vercel.json): releases what leases past their validity still reserve (a vanished gateway process's
 * slice goes back to the balance), enqueues this tick's alert evaluation, then claims and runs queued jobs until
 * the time budget, and reports.
 */
export const GET = withCron(async () => {
  const leases = await expireLeases(db());
  await scheduleAlertEvaluation(db());
  // Customer webhook endpoints whose retry is due (or whose new events arrived while their job ran).
  await scheduleWebhookDeliveries(db());
  const drained = await drain(db(), { ...settlementOptions(), budgetMs: BUDGET_MS });
  return json({ ...drained, leasesExpired: leases.expired, leaseReleasedMicros: leases.releasedMicros });
});
