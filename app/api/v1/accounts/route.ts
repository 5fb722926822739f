import { listAccounts } from "@/lib/billing/accounts";
import { listAccountsQuery } from "@/lib/billing/schemas";
import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

export const GET = withSession({ role: "admin" }, async ({ req, actor }) =>
  json(await listAccounts(db(), actor, parseQuery(req, listAccountsQuery))),
);
