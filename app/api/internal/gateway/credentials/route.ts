import { db } from "@/lib/db";
import { parseJson } from "@/lib/http/body";
import { withGateway } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { resolveKeyCredentials } from "@/lib/providers/resolve";
import { gatewayCredentialsBody } from "@/lib/providers/schemas";

/** The gateway asks which provider credentials serve a key's calls (BYOK): the only answer that carries a secret. */
export const POST = withGateway(async ({ req }) => {
  const { keyId } = await parseJson(req, gatewayCredentialsBody, 1024);
  const resolved = await resolveKeyCredentials(db(), keyId);
  return json(resolved ?? { credentials: {}, missing: "platform" }, {
    headers: { "cache-control": "no-store" },
  });
});
