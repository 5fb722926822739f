import { db } from "@/lib/db";
import { parseId, parseJson } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { deleteEndpoint, getEndpoint, updateEndpoint } from "@/lib/webhooks/endpoints";
import { updateEndpointBody } from "@/lib/webhooks/schemas";

export const GET = withSession({}, async ({ params, actor }) =>
  json({ endpoint: await getEndpoint(db(), actor, parseId(params.id, "The webhook endpoint")) }),
);

/** Changes the URL (checked again), events, batching, timeout, or switches the endpoint on or off. */
export const PATCH = withSession({}, async ({ req, params, actor }) => {
  const id = parseId(params.id, "The webhook endpoint");
  return json({ endpoint: await updateEndpoint(db(), actor, id, await parseJson(req, updateEndpointBody)) });
});

export const DELETE = withSession({}, async ({ params, actor }) => {
  await deleteEndpoint(db(), actor, parseId(params.id, "The webhook endpoint"));
  return json({ deleted: true });
});
