import { createRule, listRules } from "@/lib/analytics/alerts";
import { alertRuleBody } from "@/lib/analytics/schemas";
import { db } from "@/lib/db";
import { parseJson } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

export const GET = withSession({ role: "admin" }, async ({ actor }) =>
  json({ items: await listRules(db(), actor) }),
);

/** A spend-rate or error-rate rule for the platform, a user or a key; audited. */
export const POST = withSession({ role: "admin" }, async ({ req, actor }) =>
  json({ rule: await createRule(db(), actor, await parseJson(req, alertRuleBody)) }, { status: 201 }),
);
