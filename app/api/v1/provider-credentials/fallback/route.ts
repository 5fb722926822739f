import { db } from "@/lib/db";
import { parseJson, parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { setPlatformFallback } from "@/lib/providers/credentials";
import { credentialOwnerQuery, fallbackBody } from "@/lib/providers/schemas";

/** Whether calls without a usable provider key of their own fall back to the platform's (else they are refused). */
export const PUT = withSession({}, async ({ req, actor }) => {
  const { allowPlatformFallback } = await parseJson(req, fallbackBody);
  return json(
    await setPlatformFallback(db(), actor, parseQuery(req, credentialOwnerQuery), allowPlatformFallback),
  );
});
