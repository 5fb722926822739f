import { db } from "@/lib/db";
import { parseJson } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { createVirtualModel, listVirtualModels } from "@/lib/routing/manage";
import { createVirtualModelBody } from "@/lib/routing/schemas";

export const GET = withSession({ role: "admin" }, async ({ actor }) =>
  json({ items: await listVirtualModels(db(), actor) }),
);

export const POST = withSession({ role: "admin" }, async ({ req, actor }) => {
  const virtualModel = await createVirtualModel(db(), actor, await parseJson(req, createVirtualModelBody));
  return json({ virtualModel }, { status: 201 });
});
