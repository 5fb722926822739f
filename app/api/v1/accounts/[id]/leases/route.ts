import { loadAccountFor } from "@/lib/billing/accounts";
import { listLeases } from "@/lib/billing/leases";
import { db } from "@/lib/db";
import { parseId } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

/** The account's balance leases (admins): live ones first, then the 50 most recent. */
export const GET = withSession({ role: "admin" }, async ({ params, actor }) => {
  const account = await loadAccountFor(db(), actor, parseId(params.id, "Account"));
  return json({ items: await listLeases(db(), { accountId: account.id }, { limit: 50 }) });
});
