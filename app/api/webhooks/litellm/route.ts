import { settleUsage } from "@/lib/billing/settle";
import { db } from "@/lib/db";
import { AppError } from "@/lib/http/errors";
import { withWebhook } from "@/lib/http/handler";
import { json, validationError } from "@/lib/http/respond";
import { usageBatch } from "./schema";

export const maxDuration = 60;

/** Usage events from the gateway's outbox, signed. One transaction per batch; redelivery is harmless. */
export const POST = withWebhook({ limitBytes: 8 * 1024 * 1024 }, async ({ body }) => {
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch {
    throw new AppError("invalid_json", "The request body is not valid JSON.");
  }
  const parsed = usageBatch.safeParse(data);
  if (!parsed.success) throw validationError(parsed.error);
  const result = await settleUsage(db(), parsed.data.events);
  return json(result);
});
