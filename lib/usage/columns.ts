import "server-only";
import type { PendingQuery, Row } from "postgres";
import type { Db } from "@/lib/db/client";

/** A piece of SQL to interpolate (a fragment, not a query to run alone). */
type Fragment = PendingQuery<Row[]>;

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

/** userKeys' account for a user's own (personal) account. */
export const PERSONAL = "personal";

/**
 * The ids of a user's keys, as a uuid[] read once per statement (an InitPlan). usage_events has no index on user_id
 * and no user column (docs/adr/0037, 0040): a key's user never changes (api_keys_owner_fixed), so a user's calls are the
 * calls of their keys, each key's read through usage_events_key_idx. With a range ([from, to)), only the keys that
 * made a call on one of its UTC days by usage_owner_days (kept with every insert, in its statement: docs/adr/0024), so
 * a read costs per key that called then, not per key the user ever made. With an account, only the user's keys that
 * spend from it ('personal': their own account's).
 */
export const userKeys = (
  db: Db,
  user: string,
  { range, account }: { range?: { from: Date; to: Date }; account?: string } = {},
) => db`array(select uk.id from api_keys uk where uk.user_id = ${user}::uuid
  ${
    account === PERSONAL
      ? db`and uk.account_id = (select a.id from accounts a where a.owner_user_id = ${user}::uuid)`
      : account
        ? db`and uk.account_id = ${account}::uuid`
        : db``
  }
  ${
    range
      ? db`and exists (select 1 from usage_owner_days od where od.owner_kind = 'key' and od.owner_id = uk.id
                         and od.day >= (${range.from}::timestamptz at time zone 'utc')::date
                         and od.day <= (${range.to}::timestamptz at time zone 'utc' - interval '1 microsecond')::date)`
      : db``
  })`;

/**
 * The calls `e` charged to an organization's account, through its account index (usage_events_org_account_idx holds an
 * organization's rows only, marked `org` when recorded: docs/adr/0040). accountId must be an organization's (a team
 * account's); any other account's calls are accountRows'.
 */
export const orgRows = (db: Db, e: string, accountId: string) =>
  db`(${db(e)}.org and ${db(e)}.account_id = ${accountId}::uuid)`;

/**
 * The calls `e` charged to an account of any kind (`account`: its id as SQL, a parameter or a column; docs/adr/0040): an
 * organization's through its account index, a person's through the keys of their account (the account index holds
 * no person's rows). For reads that aggregate (a bitmap of either index); an ordered page reads key by key (userKeys).
 */
export const accountRows = (db: Db, e: string, account: ReturnType<Db>) =>
  db`((${db(e)}.org and ${db(e)}.account_id = ${account})
      or ${db(e)}.key_id = any(array(select ak.id from api_keys ak join accounts aa on aa.id = ak.account_id
                                     where ak.account_id = ${account} and aa.kind <> 'team')))`;

/**
 * A UTC day's calls as its roll-up counts them: the day's rows in usage_events and the sums of what retention already
 * removed from its detail (retention_trimmed_usage, docs/adr/0022), one row each, as (account_id, key_id, model_group,
 * billing_status, calls, tokens_in, tokens_out, cost, revenue). The settlement's roll-up of a day and every read of a
 * day not taken from the roll-ups (an account's daily spend, the platform's usage by model, an organization's spend by
 * model) are sums of these rows, so a day reads the same through each.
 * - `day`: the UTC day, SQL (a parameter, or a column of the lateral that walks a span one day, one partition, at a
 *   time).
 * - `account`: only the calls charged to this account (SQL), through the index its kind uses: `org`, an
 *   organization's (orgRows), else any account's (accountRows).
 * - `keys`: only these keys' calls (SQL uuid[]).
 * - `throughFuture` (SQL boolean): also the calls started after the day (a gateway's clock ahead: the span's last day).
 */
export const dayCalls = (
  db: Db,
  day: Fragment,
  narrow: {
    account?: { id: string; org: boolean };
    keys?: Fragment;
    throughFuture?: Fragment;
  } = {},
) => {
  const { account, keys, throughFuture } = narrow;
  return db`
    select e.account_id, e.key_id, e.model_group, billing_status(e.status) as billing_status, 1::bigint as calls,
           e.prompt_tokens as tokens_in, e.completion_tokens as tokens_out, e.cost_micros as cost,
           e.revenue_micros as revenue
    from usage_events e
    where e.started_at >= (${day}::timestamp at time zone 'utc')
      and (${throughFuture ?? db`false`} or e.started_at < ((${day} + 1)::timestamp at time zone 'utc'))
      ${account ? db`and ${account.org ? orgRows(db, "e", account.id) : accountRows(db, "e", db`${account.id}::uuid`)}` : db``}
      ${keys ? db`and e.key_id = any(${keys})` : db``}
    union all
    select t.account_id, t.key_id, t.model_group, t.billing_status, t.calls::bigint, t.tokens_in, t.tokens_out,
           t.cost_micros, t.revenue_micros
    from retention_trimmed_usage t
    where t.day = ${day}
      ${account ? db`and t.account_id = ${account.id}::uuid` : db``}
      ${keys ? db`and t.key_id = any(${keys})` : db``}`;
};

/**
 * The newest `limit` calls of each of `keys` (a uuid[]) that pass `where` (a WHERE clause on `e`), each key's through
 * usage_events_key_idx in the log's order: a page of several keys' calls is the first `limit` of these (docs/adr/0037),
 * so it costs keys × limit index reads however many calls the keys made. Aliased as `alias`.
 */
export const keyByKey = (
  db: Db,
  keys: Fragment,
  limit: number,
  alias: string,
  where: Fragment = db`where true`,
) =>
  db`(select e.* from unnest(${keys}) uk(id)
      cross join lateral (select e.* from usage_events e ${where} and e.key_id = uk.id
                          order by e.started_at desc, e.id desc limit ${limit}) e) ${db(alias)}`;
