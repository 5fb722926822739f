import { db } from "@/lib/db";
import { withApiKey } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { cachedForKey, keyState } from "@/lib/keys/self";

/**
 * For apps, with their own key as bearer: the key's limits, budgets and spend, and its account's balance, holds
 * and budgets (micro-USD; UTC day and month). Cached up to 5 s.
 */
export const GET = withApiKey(async ({ key }) =>
  json(await cachedForKey(`state:${key.id}`, () => keyState(db(), key)), {
    headers: { "cache-control": "private, max-age=5" },
  }),
);
