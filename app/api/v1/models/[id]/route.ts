import { db } from "@/lib/db";
import { parseId, parseJson } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { updateModel } from "@/lib/models/catalog";
import { updateModelBody } from "@/lib/models/schemas";

export const PATCH = withSession({ role: "admin" }, async ({ req, params, actor }) => {
  const id = parseId(params.id, "Model");
  return json({ model: await updateModel(db(), actor, id, await parseJson(req, updateModelBody)) });
});
