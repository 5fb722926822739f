import { config } from "@/lib/config";
import { db } from "@/lib/db";
import { parseJson, parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { createUser } from "@/lib/users/create";
import { listUsers } from "@/lib/users/list";
import { createUserBody, listUsersQuery } from "@/lib/users/schemas";

export const GET = withSession({ role: "admin" }, async ({ req, actor }) =>
  json(await listUsers(db(), actor, parseQuery(req, listUsersQuery))),
);

export const POST = withSession({ role: "admin" }, async ({ req, actor }) => {
  const input = await parseJson(req, createUserBody);
  const user = await createUser(db(), actor, input, { requirePassword: config().AUTH_PROVIDER === "local" });
  return json({ user }, { status: 201 });
});
