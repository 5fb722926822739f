import { db } from "@/lib/db";
import { parseId } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { statementResponse } from "@/lib/statements/http";

/** A month's statement of any account (admins; a person their own), ?format=csv|pdf for a download. */
export const GET = withSession({}, async ({ req, params, actor }) =>
  statementResponse(
    db(),
    actor,
    { kind: "account", accountId: parseId(params.id, "Account") },
    req,
    params.month,
  ),
);
