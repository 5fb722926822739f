import { z } from "zod";
import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import { withCron } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { utcDay } from "@/lib/http/schemas";
import { settlementOptions } from "@/lib/settlement/deps";
import { previousUtcDay, startSettlement } from "@/lib/settlement/run";

const query = z.strictObject({ day: utcDay().optional() });

/** Daily (vercel.json): enqueue the settlement of the previous UTC day, fanned out into chunk jobs. */
export const GET = withCron(async ({ req, actor }) => {
  const { day } = parseQuery(req, query);
  const result = await startSettlement(db(), actor, {
    day: day ?? previousUtcDay(),
    trigger: "cron",
    chunkAccounts: settlementOptions().chunkAccounts,
  });
  return json(result, { status: result.started ? 201 : 200 });
});
