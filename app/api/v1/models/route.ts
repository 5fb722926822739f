import { isAdmin } from "@/lib/auth/visibility";
import { db } from "@/lib/db";
import { parseJson, parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { catalogFor, createModel } from "@/lib/models/catalog";
import { liveModelInfo } from "@/lib/models/live";
import { createModelBody, modelsQuery } from "@/lib/models/schemas";

/**
 * The catalog, each model with the kinds it is served for; admins can ask for the gateway's live view beside it
 * (?live=1, cached; ?live=fresh bypasses).
 */
export const GET = withSession({}, async ({ req, actor }) => {
  const { live } = parseQuery(req, modelsQuery);
  if (live === "fresh" && isAdmin(actor)) await liveModelInfo({ fresh: true });
  const items = await catalogFor(db(), actor);
  if (!live || live === "0" || !isAdmin(actor)) return json({ items });
  return json({ items, live: await liveModelInfo() });
});

export const POST = withSession({ role: "admin" }, async ({ req, actor }) =>
  json({ model: await createModel(db(), actor, await parseJson(req, createModelBody)) }, { status: 201 }),
);
