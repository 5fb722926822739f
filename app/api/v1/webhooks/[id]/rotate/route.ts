import { db } from "@/lib/db";
import { parseId } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { rotateEndpointSecret } from "@/lib/webhooks/endpoints";

/** A new signing secret, shown once; the previous one keeps signing beside it for 24 hours. */
export const POST = withSession({}, async ({ params, actor }) =>
  json(await rotateEndpointSecret(db(), actor, parseId(params.id, "The webhook endpoint"))),
);
