import "server-only";
import type { Db } from "@/lib/db/client";

// A usage row stores a zero count as null (docs/adr/0033: a null costs a bit of the row's null bitmap, a zero 4 or 8
// bytes); rows written before that keep their zeros. Every reader of a row's counts reads them here, as numbers.

/** The units besides tokens of the usage row `e`: images, audioMs, characters (0 for none). */
export const usageUnits = (db: Db, e: string) => db`
  coalesce(${db(e)}.images, 0) as images, coalesce(${db(e)}.audio_ms, 0)::int as "audioMs",
  coalesce(${db(e)}.characters, 0) as characters`;

/** The usage row `e`'s counts besides prompt and completion tokens: its cached, cache-write and reasoning tokens and units. */
export const usageCounts = (db: Db, e: string) => db`
  coalesce(${db(e)}.cached_tokens, 0) as "cachedTokens", coalesce(${db(e)}.cache_write_tokens, 0) as "cacheWriteTokens",
  coalesce(${db(e)}.reasoning_tokens, 0) as "reasoningTokens", ${usageUnits(db, e)}`;
