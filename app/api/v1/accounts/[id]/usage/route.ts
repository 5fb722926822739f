import { listUsage, loadAccountFor } from "@/lib/billing/accounts";
import { db } from "@/lib/db";
import { parseId, parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { pageQuery } from "@/lib/http/schemas";

/** The account's calls with what each was charged. */
export const GET = withSession({}, async ({ req, params, actor }) => {
  const account = await loadAccountFor(db(), actor, parseId(params.id, "Account"));
  return json(await listUsage(db(), actor, account.id, parseQuery(req, pageQuery)));
});
