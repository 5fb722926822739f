import { config } from "@/lib/config";
import { db } from "@/lib/db";
import { parseJson, parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { createKey } from "@/lib/keys/create";
import { listKeys } from "@/lib/keys/list";
import { createKeyBody, listKeysQuery } from "@/lib/keys/schemas";

export const GET = withSession({}, async ({ req, actor }) =>
  json(await listKeys(db(), actor, parseQuery(req, listKeysQuery))),
);

/** Creates a key; the response carries the secret, the only time it is ever shown. */
export const POST = withSession({}, async ({ req, actor, principal }) => {
  const input = await parseJson(req, createKeyBody);
  const created = await createKey(
    db(),
    actor,
    { ...input, userId: input.userId ?? principal.userId },
    { pepper: config().KEY_PEPPER },
  );
  return json(created, { status: 201 });
});
