import { config } from "@/lib/config";
import { db } from "@/lib/db";
import { parseId } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { rotateKey } from "@/lib/keys/revoke";

/** Issues a new secret with the same settings and revokes the old key, in one transaction. */
export const POST = withSession({}, async ({ params, actor }) =>
  json(await rotateKey(db(), actor, parseId(params.id, "API key"), { pepper: config().KEY_PEPPER }), {
    status: 201,
  }),
);
