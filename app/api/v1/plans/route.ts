import { db } from "@/lib/db";
import { parseJson } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { createPlan, listPlans } from "@/lib/plans/manage";
import { createPlanBody } from "@/lib/plans/schemas";

export const GET = withSession({ role: "admin" }, async ({ actor }) =>
  json({ items: await listPlans(db(), actor) }),
);

export const POST = withSession({ role: "admin" }, async ({ req, actor }) => {
  const plan = await createPlan(db(), actor, await parseJson(req, createPlanBody));
  return json({ plan }, { status: 201 });
});
