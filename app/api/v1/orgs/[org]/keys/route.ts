import { config } from "@/lib/config";
import { db } from "@/lib/db";
import { parseJson, parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { createKey } from "@/lib/keys/create";
import { listKeys } from "@/lib/keys/list";
import { createKeyBody, listKeysQuery } from "@/lib/keys/schemas";

const orgKeysQuery = listKeysQuery.omit({ org: true });

/** The organization's keys: every member's for its owners and admins (with their maker), a member's own otherwise. */
export const GET = withSession({}, async ({ req, actor, params }) =>
  json(await listKeys(db(), actor, { ...parseQuery(req, orgKeysQuery), org: params.org ?? "" })),
);

/**
 * Issues a key that spends from the organization's account, attributed to the member who made it (or, issued by a
 * platform admin, to the member named by userId). The response carries the secret, shown only once.
 */
export const POST = withSession({}, async ({ req, actor, principal, params }) => {
  const input = await parseJson(req, createKeyBody);
  const created = await createKey(
    db(),
    actor,
    { ...input, userId: input.userId ?? principal.userId, organization: params.org ?? "" },
    { pepper: config().KEY_PEPPER },
  );
  return json(created, { status: 201 });
});
