import { usageBatch } from "@/lib/billing/schemas";
import { settleUsage } from "@/lib/billing/settle";
import { db } from "@/lib/db";
import { parseJsonText } from "@/lib/http/body";
import { withWebhook } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { log } from "@/lib/log";
import { metrics } from "@/lib/metrics/registry";

export const maxDuration = 60;

/**
 * Usage events from the gateway's outbox, signed. One transaction per batch; redelivery is harmless. The answer
 * tells the delivering gateway which of its leases paid a charge above its draw (it draws that much less) and
 * which keys' accounts are in deficit (it stops drawing for them): clause 46.
 */
export const POST = withWebhook({ limitBytes: 8 * 1024 * 1024 }, async ({ body }) => {
  const { events } = parseJsonText(body, usageBatch);
  const result = await settleUsage(db(), events);
  const m = metrics();
  for (const key of ["inserted", "duplicates", "upgraded", "unknownKeys", "expired", "trimmed"] as const)
    if (result[key]) m.usageEvents.inc({ result: key }, result[key]);
  if (result.overrunCalls) {
    m.reservationOverruns.inc(result.overrunCalls);
    m.reservationOverrunMicros.inc(Number(result.overrunMicros));
    log().warn(
      { overrunCalls: result.overrunCalls, overrunMicros: result.overrunMicros.toString() },
      "calls charged above their reservation",
    );
  }
  const now = Date.now();
  for (const e of events) m.webhookLag.observe(Math.max(0, (now - Date.parse(e.endedAt)) / 1000));
  return json(result);
});
