import { db } from "@/lib/db";
import { withSession } from "@/lib/http/handler";
import { statementResponse } from "@/lib/statements/http";

/** A month's statement of an organization (?format=csv|pdf for a download). */
export const GET = withSession({}, async ({ req, params, actor }) =>
  statementResponse(db(), actor, { kind: "org", ref: params.org ?? "" }, req, params.month),
);
