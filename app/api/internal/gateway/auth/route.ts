import { config } from "@/lib/config";
import { db } from "@/lib/db";
import { parseJson } from "@/lib/http/body";
import { withGateway } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { gatewayAuthBody } from "@/lib/keys/schemas";
import { verifyKey } from "@/lib/keys/verify";

/** LiteLLM's custom auth asks here whether a presented key may call, and with which models and limits. */
export const POST = withGateway(async ({ req }) => {
  const { key } = await parseJson(req, gatewayAuthBody, 4 * 1024);
  return json(await verifyKey(db(), key, config().KEY_PEPPER));
});
