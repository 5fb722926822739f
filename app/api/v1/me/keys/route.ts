import { ownView } from "@/lib/auth/visibility";
import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { listKeys } from "@/lib/keys/list";
import { listKeysQuery } from "@/lib/keys/schemas";

/**
 * "My API keys": the signed-in person's own keys, whatever their role (an admin's too; userId is ignored): those of
 * their own account, or with ?org=<slug> their keys of that organization.
 */
export const GET = withSession({}, async ({ req, actor }) =>
  json(await listKeys(db(), ownView(actor), parseQuery(req, listKeysQuery))),
);
