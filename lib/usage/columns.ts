import "server-only";
import type { Db } from "@/lib/db/client";

// A usage row stores a zero count, and the platform's credential, as null (docs/adr/0033: a null costs a bit of the
// row's null bitmap, a zero 4 or 8 bytes, 'platform' 9), and the deployment that served it by an id into
// provider_models (docs/adr/0035); rows written before keep their zeros, 'platform' and the deployment's text. Every
// reader of a row's counts, credential and deployment reads them here.

/** Whose provider credentials served the call `e`: 'byok' (the owner's own) is stored; the platform's as null. */
export const usageCredential = (db: Db, e: string) => db`coalesce(${db(e)}.credential, 'platform')`;

/** The deployment that served the call `e` (LiteLLM's model name; '' when the gateway reported none). */
export const usageProviderModel = (db: Db, e: string) => db`coalesce(
  (select pm.name from provider_models pm where pm.id = ${db(e)}.provider_model_id), ${db(e)}.provider_model, '')`;

/** The units besides tokens of the usage row `e`: images, audioMs, characters (0 for none). */
export const usageUnits = (db: Db, e: string) => db`
  coalesce(${db(e)}.images, 0) as images, coalesce(${db(e)}.audio_ms, 0)::int as "audioMs",
  coalesce(${db(e)}.characters, 0) as characters`;

/** The usage row `e`'s counts besides prompt and completion tokens: its cached, cache-write and reasoning tokens and units. */
export const usageCounts = (db: Db, e: string) => db`
  coalesce(${db(e)}.cached_tokens, 0) as "cachedTokens", coalesce(${db(e)}.cache_write_tokens, 0) as "cacheWriteTokens",
  coalesce(${db(e)}.reasoning_tokens, 0) as "reasoningTokens", ${usageUnits(db, e)}`;

/**
 * The ids of a user's keys, as a uuid[] read once per statement (an InitPlan). usage_events has no index on user_id
 * (docs/adr/0037): a key's user never changes (api_keys_owner_fixed), so a user's calls are the calls of their keys,
 * each key's read through usage_events_key_idx. With a range ([from, to)), only the keys that made a call on one of its
 * UTC days by usage_owner_days (kept with every insert, in its statement: docs/adr/0024), so a read costs per key that
 * called then, not per key the user ever made.
 */
export const userKeys = (db: Db, user: string, range?: { from: Date; to: Date }) =>
  range
    ? db`array(select uk.id from api_keys uk where uk.user_id = ${user}::uuid
               and exists (select 1 from usage_owner_days od where od.owner_kind = 'key' and od.owner_id = uk.id
                             and od.day >= (${range.from}::timestamptz at time zone 'utc')::date
                             and od.day <= (${range.to}::timestamptz at time zone 'utc' - interval '1 microsecond')::date))`
    : db`array(select uk.id from api_keys uk where uk.user_id = ${user}::uuid)`;
