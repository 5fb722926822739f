import { scheduleAlertEvaluation } from "@/lib/analytics/alerts";
import { expireLeases } from "@/lib/billing/leases";
import { db } from "@/lib/db";
import { withCron } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { settlementOptions } from "@/lib/settlement/deps";
import { drain } from "@/lib/settlement/drain";
import { scheduleUsageCompaction } from "@/lib/usage/compact";
import { scheduleUsagePartitions } from "@/lib/usage/partitions";
import { scheduleWebhookDeliveries } from "@/lib/webhooks/deliver";

export const maxDuration = 60;
// Stop claiming well inside maxDuration so the last job finishes before the platform cuts the function.
const BUDGET_MS = 40_000;

/**
 * Frequent (vercel.json): releases what leases past their validity still reserve (a vanished gateway process's
 * slice goes back to the balance), enqueues this tick's alert evaluation, then claims and runs queued jobs until
 * the time budget, and reports. Each tick also enqueues the upkeep of usage_events' daily partitions.
 */
export const GET = withCron(async () => {
  const leases = await expireLeases(db());
  await scheduleAlertEvaluation(db());
  // usage_events' daily partitions, a week ahead; an event parked in the default partition moves to its day's.
  await scheduleUsagePartitions(db());
  // A closed day's indexes rebuilt packed (docs/adr/0027), when one waits.
  await scheduleUsageCompaction(db(), { budgetMs: BUDGET_MS });
  // Customer webhook endpoints whose retry is due (or whose new events arrived while their job ran).
  await scheduleWebhookDeliveries(db());
  const drained = await drain(db(), { ...settlementOptions(), budgetMs: BUDGET_MS });
  return json({ ...drained, leasesExpired: leases.expired, leaseReleasedMicros: leases.releasedMicros });
});
