import { db } from "@/lib/db";
import { parseId, parseJson } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { updatePlan } from "@/lib/plans/manage";
import { updatePlanBody } from "@/lib/plans/schemas";

/** Changes a plan: its users' keys get the new limits within the gateway's auth cache TTL. */
export const PATCH = withSession({ role: "admin" }, async ({ req, params, actor }) => {
  const id = parseId(params.id, "Plan");
  return json({ plan: await updatePlan(db(), actor, id, await parseJson(req, updatePlanBody)) });
});
