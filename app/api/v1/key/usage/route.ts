import { z } from "zod";
import { db } from "@/lib/db";
import { parseQuery } from "@/lib/http/body";
import { AppError } from "@/lib/http/errors";
import { withApiKey } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { utcDay } from "@/lib/http/schemas";
import { cachedForKey, keyUsage } from "@/lib/keys/self";

const query = z.strictObject({ from: utcDay().optional(), to: utcDay().optional() });
const DAY_MS = 86_400_000;

/**
 * For apps, with their own key as bearer: this key's calls and charges over UTC days `from`..`to` (inclusive;
 * default the last 30 days, at most 366), per day and per model. Cached up to 5 s.
 */
export const GET = withApiKey(async ({ req, key }) => {
  const q = parseQuery(req, query);
  const to = q.to ?? new Date().toISOString().slice(0, 10);
  const from = q.from ?? new Date(Date.parse(to) - 29 * DAY_MS).toISOString().slice(0, 10);
  const span = (Date.parse(to) - Date.parse(from)) / DAY_MS;
  if (span < 0 || span > 365) {
    throw new AppError(
      "validation_failed",
      "Invalid query: from must be on or before to, at most 366 days apart.",
      {
        issues: [{ path: "from", message: "must be on or before to, at most 366 days before it" }],
      },
    );
  }
  return json(await cachedForKey(`usage:${key.id}:${from}:${to}`, () => keyUsage(db(), key, from, to)), {
    headers: { "cache-control": "private, max-age=5" },
  });
});
