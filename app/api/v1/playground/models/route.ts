import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { playgroundModels } from "@/lib/playground/models";
import { playgroundModelsQuery } from "@/lib/playground/schemas";

/**
 * The models the caller may chat with (their plan's; with ?org= what the organization's playground key may call),
 * their prices in force, which are chat models, and the default pick.
 */
export const GET = withSession({}, async ({ req, actor }) => {
  const { org } = parseQuery(req, playgroundModelsQuery);
  return json(await playgroundModels(db(), actor, org));
});
