import { config } from "@/lib/config";
import { db } from "@/lib/db";
import { parseJson } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { createBatch, listBatches } from "@/lib/redemptions/codes";
import { createBatchBody } from "@/lib/redemptions/schemas";

export const GET = withSession({ role: "admin" }, async ({ actor }) =>
  json({ items: await listBatches(db(), actor) }),
);

/** Creates a batch; the response carries the codes, the only time they are ever shown. */
export const POST = withSession({ role: "admin" }, async ({ req, actor }) => {
  const input = await parseJson(req, createBatchBody);
  return json(await createBatch(db(), actor, input, { pepper: config().KEY_PEPPER }), { status: 201 });
});
