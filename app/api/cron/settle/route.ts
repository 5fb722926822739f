import { z } from "zod";
import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import { AppError } from "@/lib/http/errors";
import { withCron } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { utcDay } from "@/lib/http/schemas";
import { settlementOptions } from "@/lib/settlement/deps";
import { previousUtcDay, staleSettledDays, startSettlement } from "@/lib/settlement/run";

const query = z.strictObject({ day: utcDay().optional() });

/**
 * Daily (vercel.json): enqueue the settlement of the previous UTC day, fanned out into chunk jobs, and settle again
 * the recent days a late call left behind (staleSettledDays). `?day=` settles that one day only.
 */
export const GET = withCron(async ({ req, actor }) => {
  const { day } = parseQuery(req, query);
  const { chunkAccounts } = settlementOptions();
  const result = await startSettlement(db(), actor, {
    day: day ?? previousUtcDay(),
    trigger: "cron",
    chunkAccounts,
  });
  const settledAgain: string[] = [];
  if (day === undefined) {
    for (const stale of await staleSettledDays(db())) {
      const again = await startSettlement(db(), actor, { day: stale, trigger: "cron", chunkAccounts }).catch(
        (error: unknown) => {
          // Another request is starting that day right now: it is being settled.
          if (error instanceof AppError && error.code === "conflict") return { started: false };
          throw error;
        },
      );
      if (again.started) settledAgain.push(stale);
    }
  }
  return json({ ...result, settledAgain }, { status: result.started ? 201 : 200 });
});
