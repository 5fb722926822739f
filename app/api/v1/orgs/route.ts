import { db } from "@/lib/db";
import { parseJson, parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { createOrg } from "@/lib/orgs/create";
import { listAllOrgs, listMyOrgs } from "@/lib/orgs/read";
import { createOrgBody, listOrgsQuery } from "@/lib/orgs/schemas";

/** The caller's organizations; with ?all=1 (platform admins) every organization. */
export const GET = withSession({}, async ({ req, actor }) => {
  const query = parseQuery(req, listOrgsQuery);
  if (query.all === "1" || query.all === "true") return json(await listAllOrgs(db(), actor, query));
  return json({ items: await listMyOrgs(db(), actor) });
});

/** Creates an organization owned by the caller (or, for a platform admin, by ownerEmail). */
export const POST = withSession({}, async ({ req, actor }) =>
  json({ organization: await createOrg(db(), actor, await parseJson(req, createOrgBody)) }, { status: 201 }),
);
