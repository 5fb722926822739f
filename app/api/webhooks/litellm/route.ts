import { usageBatch } from "@/lib/billing/schemas";
import { settleUsage } from "@/lib/billing/settle";
import { db } from "@/lib/db";
import { parseJsonText } from "@/lib/http/body";
import { withWebhook } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { metrics } from "@/lib/metrics/registry";

export const maxDuration = 60;

/** Usage events from the gateway's outbox, signed. One transaction per batch; redelivery is harmless. */
export const POST = withWebhook({ limitBytes: 8 * 1024 * 1024 }, async ({ body }) => {
  const { events } = parseJsonText(body, usageBatch);
  const result = await settleUsage(db(), events);
  const m = metrics();
  for (const key of ["inserted", "duplicates", "upgraded", "unknownKeys"] as const)
    if (result[key]) m.usageEvents.inc({ result: key }, result[key]);
  const now = Date.now();
  for (const e of events) m.webhookLag.observe(Math.max(0, (now - Date.parse(e.endedAt)) / 1000));
  return json(result);
});
