import { placeHold } from "@/lib/billing/hold";
import { holdBody, unitCounts } from "@/lib/billing/schemas";
import { db } from "@/lib/db";
import { parseJson } from "@/lib/http/body";
import { AppError } from "@/lib/http/errors";
import { withGateway } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { metrics } from "@/lib/metrics/registry";

/** The gateway's pre-call hook: reserve the call's worst-case price, or refuse it (402 / 429). */
export const POST = withGateway(async ({ req }) => {
  const input = await parseJson(req, holdBody, 8 * 1024);
  try {
    const hold = await placeHold(db(), { ...input, units: unitCounts(input) });
    metrics().holds.inc({ outcome: hold.outcome });
    return json(hold);
  } catch (error) {
    metrics().holds.inc({ outcome: error instanceof AppError ? error.code : "error" });
    throw error;
  }
});
