import { db } from "@/lib/db";
import { parseJson, parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { createCredential, listCredentials } from "@/lib/providers/credentials";
import { createCredentialBody, credentialOwnerQuery } from "@/lib/providers/schemas";

/** The caller's own provider keys, an organization's (?org=<slug>) or a key's pinned one (?keyId=…), masked. */
export const GET = withSession({}, async ({ req, actor }) =>
  json(await listCredentials(db(), actor, parseQuery(req, credentialOwnerQuery))),
);

/** Stores a provider key (sealed); the answer shows it masked, as every later one does. */
export const POST = withSession({}, async ({ req, actor }) => {
  const owner = parseQuery(req, credentialOwnerQuery);
  const credential = await createCredential(db(), actor, owner, await parseJson(req, createCredentialBody));
  return json({ credential }, { status: 201 });
});
