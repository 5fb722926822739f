import { loadAccountFor } from "@/lib/billing/accounts";
import { accountLedger } from "@/lib/billing/ledger";
import { db } from "@/lib/db";
import { parseId, parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { pageQuery } from "@/lib/http/schemas";

/** The account's ledger entries, newest first, each with the balance after it. */
export const GET = withSession({}, async ({ req, params, actor }) => {
  const account = await loadAccountFor(db(), actor, parseId(params.id, "Account"));
  return json(await accountLedger(db(), account.id, parseQuery(req, pageQuery)));
});
