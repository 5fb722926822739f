import { db } from "@/lib/db";
import { parseJson } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { getOrg } from "@/lib/orgs/read";
import { parseOrgRef, updateOrgBody } from "@/lib/orgs/schemas";
import { updateOrg } from "@/lib/orgs/update";

/** The organization (slug or id) with its account and the caller's role. */
export const GET = withSession({}, async ({ params, actor }) =>
  json({ organization: await getOrg(db(), actor, parseOrgRef(params.org)) }),
);

/** Name, budgets, models (settings); low-balance threshold (billing); plan and status (platform admins). */
export const PATCH = withSession({}, async ({ req, params, actor }) => {
  const ref = parseOrgRef(params.org);
  return json({ organization: await updateOrg(db(), actor, ref, await parseJson(req, updateOrgBody)) });
});
