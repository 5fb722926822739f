import { db } from "@/lib/db";
import { parseId, parseJson } from "@/lib/http/body";
import { notFound } from "@/lib/http/errors";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { getUser } from "@/lib/users/list";
import { updateUserBody } from "@/lib/users/schemas";
import { updateUser } from "@/lib/users/update";

export const GET = withSession({ role: "admin" }, async ({ params, actor }) => {
  const user = await getUser(db(), actor, parseId(params.id, "User"));
  if (!user) throw notFound("User");
  return json({ user });
});

export const PATCH = withSession({ role: "admin" }, async ({ req, params, actor }) => {
  const id = parseId(params.id, "User");
  const input = await parseJson(req, updateUserBody);
  return json({ user: await updateUser(db(), actor, id, input) });
});
