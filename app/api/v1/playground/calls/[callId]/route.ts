import { db } from "@/lib/db";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { callCharge } from "@/lib/playground/calls";

/**
 * What one of the caller's own calls was charged: the playground shows it under each answer. 202 with a null call
 * while the gateway's usage event is on its way (a second or two; longer for a stopped call), so polling for it
 * is not a string of failed requests; an id that is not the caller's reads the same and reveals nothing.
 */
export const GET = withSession({}, async ({ params, principal }) => {
  const call = await callCharge(db(), principal.userId, params.callId ?? "");
  if (!call) return json({ call: null }, { status: 202, headers: { "retry-after": "1" } });
  return json({ call });
});
