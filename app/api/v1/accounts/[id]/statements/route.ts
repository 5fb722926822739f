import { db } from "@/lib/db";
import { parseId } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { statementsListResponse } from "@/lib/statements/http";

/** Any account's monthly statements (admins; a person their own). */
export const GET = withSession({}, async ({ params, actor }) =>
  statementsListResponse(db(), actor, { kind: "account", accountId: parseId(params.id, "Account") }),
);
