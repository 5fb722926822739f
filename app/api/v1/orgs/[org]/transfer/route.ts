import { db } from "@/lib/db";
import { parseJson } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { transferOwnership } from "@/lib/orgs/members";
import { parseOrgRef, transferBody } from "@/lib/orgs/schemas";

/** The owner hands the organization to another member and becomes an admin. */
export const POST = withSession({}, async ({ req, params, actor }) => {
  const ref = parseOrgRef(params.org);
  const { userId } = await parseJson(req, transferBody);
  return json(await transferOwnership(db(), actor, ref, userId));
});
