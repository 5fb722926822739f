import { loadAccountFor, setAccountBudgets } from "@/lib/billing/accounts";
import { budgetsBody } from "@/lib/billing/schemas";
import { db } from "@/lib/db";
import { parseId, parseJson } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

export const GET = withSession({}, async ({ params, actor }) =>
  json({ account: await loadAccountFor(db(), actor, parseId(params.id, "Account")) }),
);

/** Admins set hard daily / monthly budgets (null removes one). */
export const PATCH = withSession({ role: "admin" }, async ({ req, params, actor }) => {
  const id = parseId(params.id, "Account");
  return json({ account: await setAccountBudgets(db(), actor, id, await parseJson(req, budgetsBody)) });
});
