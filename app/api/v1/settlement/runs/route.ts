import { z } from "zod";
import { db } from "@/lib/db";
import { parseJson } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { utcDay } from "@/lib/http/schemas";
import { settlementOptions } from "@/lib/settlement/deps";
import { startSettlement } from "@/lib/settlement/run";
import { listRuns } from "@/lib/settlement/views";

const startBody = z.strictObject({ day: utcDay() });

export const GET = withSession({ role: "admin" }, async ({ actor }) =>
  json({ items: await listRuns(db(), actor) }),
);

/** "Run settlement for day X": the same jobs the daily cron enqueues (audit-logged). */
export const POST = withSession({ role: "admin" }, async ({ req, actor }) => {
  const { day } = await parseJson(req, startBody);
  const result = await startSettlement(db(), actor, {
    day,
    trigger: "manual",
    chunkAccounts: settlementOptions().chunkAccounts,
  });
  return json(result, { status: result.started ? 201 : 200 });
});
