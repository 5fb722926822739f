import { z } from "zod";
import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import { withCron } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { utcDay } from "@/lib/http/schemas";
import { settlementOptions } from "@/lib/settlement/deps";
import { previousUtcDay, rollUpStaleDays, startSettlement } from "@/lib/settlement/run";

const query = z.strictObject({ day: utcDay().optional() });

/**
 * Daily (vercel.json): enqueue the settlement of the previous UTC day, fanned out into chunk jobs, and the rebuild of
 * the roll-ups of the recent days a late call left behind (rollUpStaleDays). `?day=` settles that one day only.
 */
export const GET = withCron(async ({ req, actor }) => {
  const { day } = parseQuery(req, query);
  const result = await startSettlement(db(), actor, {
    day: day ?? previousUtcDay(),
    trigger: "cron",
    chunkAccounts: settlementOptions().chunkAccounts,
  });
  const rolledUpAgain = day === undefined ? await rollUpStaleDays(db()) : [];
  return json({ ...result, rolledUpAgain }, { status: result.started ? 201 : 200 });
});
