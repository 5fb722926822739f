import { placeHold } from "@/lib/billing/hold";
import { holdBody } from "@/lib/billing/schemas";
import { db } from "@/lib/db";
import { parseJson } from "@/lib/http/body";
import { withGateway } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

/** The gateway's pre-call hook: reserve the call's worst-case price, or refuse it (402 / 429). */
export const POST = withGateway(async ({ req }) => {
  const input = await parseJson(req, holdBody, 8 * 1024);
  return json(await placeHold(db(), input));
});
