import { db } from "@/lib/db";
import { parseJson } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { parseOrgRef } from "@/lib/orgs/schemas";
import { readPolicy } from "@/lib/policies/read";
import { updatePolicyBody } from "@/lib/policies/schemas";
import { updatePolicy } from "@/lib/policies/update";

/** The organization's response cache and PII guardrails: every member sees them (they are subject to them). */
export const GET = withSession({}, async ({ params, actor }) =>
  json(await readPolicy(db(), actor, { org: parseOrgRef(params.org) })),
);

/** Changes them (owners and admins); only the fields sent change. */
export const PATCH = withSession({}, async ({ req, params, actor }) => {
  const org = parseOrgRef(params.org);
  return json(await updatePolicy(db(), actor, { org }, await parseJson(req, updatePolicyBody)));
});
