import { db } from "@/lib/db";
import { parseId, parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { listDeliveries } from "@/lib/webhooks/endpoints";
import { deliveriesQuery } from "@/lib/webhooks/schemas";

/** The endpoint's delivery log: latest deliveries and attempts (status code, latency, the answer's first KB). */
export const GET = withSession({}, async ({ req, params, actor }) => {
  const { limit } = parseQuery(req, deliveriesQuery);
  return json(await listDeliveries(db(), actor, parseId(params.id, "The webhook endpoint"), { limit }));
});
