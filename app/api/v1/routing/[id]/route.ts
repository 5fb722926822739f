import { db } from "@/lib/db";
import { parseId, parseJson } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { updateVirtualModel } from "@/lib/routing/manage";
import { updateVirtualModelBody } from "@/lib/routing/schemas";

/** Changes a virtual model (disabling it is `enabled: false`); the gateway sees it within its routing cache TTL. */
export const PATCH = withSession({ role: "admin" }, async ({ req, params, actor }) => {
  const id = parseId(params.id, "Virtual model");
  return json({
    virtualModel: await updateVirtualModel(db(), actor, id, await parseJson(req, updateVirtualModelBody)),
  });
});
