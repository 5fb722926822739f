import { db } from "@/lib/db";
import { parseJson } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { parseOrgRef } from "@/lib/orgs/schemas";
import { getOrgRetention, updateOrgRetention } from "@/lib/retention/policy";
import { orgRetentionBody } from "@/lib/retention/schemas";

/** How long the organization's usage detail and playground conversations are kept: every member sees it. */
export const GET = withSession({}, async ({ params, actor }) =>
  json(await getOrgRetention(db(), actor, parseOrgRef(params.org))),
);

/** Its owners and admins shorten it (never past the platform's days); audited. */
export const PATCH = withSession({}, async ({ req, params, actor }) => {
  const org = parseOrgRef(params.org);
  return json(await updateOrgRetention(db(), actor, org, await parseJson(req, orgRetentionBody)));
});
