import { db } from "@/lib/db";
import { parseJson, parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { createEndpoint, listEndpoints } from "@/lib/webhooks/endpoints";
import { createEndpointBody, ownerQuery } from "@/lib/webhooks/schemas";

/** The caller's own webhook endpoints, or an organization's (?org=<slug>: its owners and admins). */
export const GET = withSession({}, async ({ req, actor }) => {
  const { org } = parseQuery(req, ownerQuery);
  return json({ endpoints: await listEndpoints(db(), actor, { org }) });
});

/** Registers an endpoint; the response carries its signing secret, the only time it is shown. */
export const POST = withSession({}, async ({ req, actor }) => {
  const { org } = parseQuery(req, ownerQuery);
  const created = await createEndpoint(db(), actor, { org }, await parseJson(req, createEndpointBody));
  return json(created, { status: 201 });
});
