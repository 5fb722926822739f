import { db } from "@/lib/db";
import { parseId, parseJson } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { loadKeyFor } from "@/lib/keys/access";
import { revokeKey } from "@/lib/keys/revoke";
import { updateKeyBody } from "@/lib/keys/schemas";
import { updateKey } from "@/lib/keys/update";

export const GET = withSession({}, async ({ params, actor }) =>
  json({ key: await loadKeyFor(db(), actor, parseId(params.id, "API key")) }),
);

export const PATCH = withSession({}, async ({ req, params, actor }) => {
  const id = parseId(params.id, "API key");
  const key = await updateKey(db(), actor, id, await parseJson(req, updateKeyBody));
  return json({ key });
});

/** Revokes the key; the gateway refuses it within its auth cache TTL. */
export const DELETE = withSession({}, async ({ params, actor }) =>
  json({ key: await revokeKey(db(), actor, parseId(params.id, "API key")) }),
);
