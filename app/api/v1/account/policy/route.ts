import { db } from "@/lib/db";
import { parseJson, parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { readPolicy } from "@/lib/policies/read";
import { accountPolicyQuery, updatePolicyBody } from "@/lib/policies/schemas";
import { updatePolicy } from "@/lib/policies/update";

/** The caller's own response cache and PII guardrails (platform admins: ?userId= reads a person's). */
export const GET = withSession({}, async ({ req, actor }) => {
  const { userId } = parseQuery(req, accountPolicyQuery);
  return json(await readPolicy(db(), actor, { userId }));
});

/** Changes the caller's own policy; only the fields sent change. */
export const PATCH = withSession({}, async ({ req, actor }) => {
  const { userId } = parseQuery(req, accountPolicyQuery);
  return json(await updatePolicy(db(), actor, { userId }, await parseJson(req, updatePolicyBody)));
});
