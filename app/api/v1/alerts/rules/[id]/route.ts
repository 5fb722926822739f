import { deleteRule, updateRule } from "@/lib/analytics/alerts";
import { alertRulePatch } from "@/lib/analytics/schemas";
import { db } from "@/lib/db";
import { parseId, parseJson } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

/** Thresholds, window, name, on/off; switching a rule off ends its episode. Audited. */
export const PATCH = withSession({ role: "admin" }, async ({ req, params, actor }) => {
  const id = parseId(params.id, "Alert rule");
  return json({ rule: await updateRule(db(), actor, id, await parseJson(req, alertRulePatch)) });
});

export const DELETE = withSession({ role: "admin" }, async ({ params, actor }) => {
  await deleteRule(db(), actor, parseId(params.id, "Alert rule"));
  return json({ deleted: true });
});
