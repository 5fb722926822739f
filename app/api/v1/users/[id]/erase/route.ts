import { db } from "@/lib/db";
import { eraseUser } from "@/lib/gdpr/erase";
import { eraseUserBody } from "@/lib/gdpr/schemas";
import { parseId, parseJson } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

/** Erases a user (GDPR): admins only, confirmed by typing the user's email; a second erasure changes nothing. */
export const POST = withSession({ role: "admin" }, async ({ req, params, actor }) => {
  const id = parseId(params.id, "User");
  const input = await parseJson(req, eraseUserBody);
  return json({ erasure: await eraseUser(db(), actor, id, input) });
});
