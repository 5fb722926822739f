import { db } from "@/lib/db";
import { parseId, parseJson } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { replayRange } from "@/lib/webhooks/endpoints";
import { replayBody } from "@/lib/webhooks/schemas";

/** New deliveries of the events that happened in [from, to), in call order. */
export const POST = withSession({}, async ({ req, params, actor }) => {
  const id = parseId(params.id, "The webhook endpoint");
  return json(await replayRange(db(), actor, id, await parseJson(req, replayBody)), { status: 201 });
});
