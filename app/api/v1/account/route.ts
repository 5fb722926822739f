import { getAccount } from "@/lib/billing/ledger";
import { db } from "@/lib/db";
import { notFound } from "@/lib/http/errors";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

/** The caller's own account: balance, held, budgets and today's / this month's usage. */
export const GET = withSession({}, async ({ principal }) => {
  const account = await getAccount(db(), { userId: principal.userId });
  if (!account) throw notFound("Account");
  return json({ account });
});
