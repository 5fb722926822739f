import { db } from "@/lib/db";
import { withSession } from "@/lib/http/handler";
import { statementsListResponse } from "@/lib/statements/http";

/** An organization's monthly statements (owner, admin and billing members; platform admins). */
export const GET = withSession({}, async ({ params, actor }) =>
  statementsListResponse(db(), actor, { kind: "org", ref: params.org ?? "" }),
);
