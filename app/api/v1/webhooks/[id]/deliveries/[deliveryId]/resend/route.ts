import { db } from "@/lib/db";
import { parseId } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { resendDelivery } from "@/lib/webhooks/endpoints";

/** Sends the delivery's event again (same webhook-id), as a new delivery. */
export const POST = withSession({}, async ({ params, actor }) => {
  const id = parseId(params.id, "The webhook endpoint");
  const delivery = await resendDelivery(db(), actor, id, params.deliveryId ?? "");
  return json({ delivery }, { status: 201 });
});
