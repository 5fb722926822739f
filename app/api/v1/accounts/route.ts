import { listAccounts } from "@/lib/billing/accounts";
import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { listAccountsQuery } from "./schema";

export const GET = withSession({ role: "admin" }, async ({ req, actor }) =>
  json(await listAccounts(db(), actor, parseQuery(req, listAccountsQuery))),
);
