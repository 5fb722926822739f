import "server-only";
import type { Db } from "@/lib/db/client";

// A call id search. A call is keyed by call_key (the id as a uuid: docs/adr/0031, supabase/schemas/05.call_key.sql):
// in usage_calls (its claim), or for a UUIDv7 call by its own row's partition index (docs/adr/0032). The whole id is its
// key; a prefix of a UUID is the range of keys that begin with it, a range of either index. The caller matches the
// call's own id on its usage_events row as well: an id that is not a UUID is keyed by a hash, which a range may meet by
// chance.

const UUID_TEMPLATE = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

/** The lowest and highest UUIDs that begin with `prefix` (lowercase), or null if no UUID does. */
export function uuidPrefixRange(prefix: string): [string, string] | null {
  if (prefix.length > UUID_TEMPLATE.length) return null;
  for (let i = 0; i < prefix.length; i++) {
    const dash = UUID_TEMPLATE[i] === "-";
    if (dash ? prefix[i] !== "-" : !/[0-9a-f]/.test(prefix[i]!)) return null;
  }
  const fill = (digit: string) => prefix + UUID_TEMPLATE.slice(prefix.length).replace(/x/g, digit);
  return [fill("0"), fill("f")];
}

/**
 * The claims of calls with this id (36 characters) or whose id begins with it (a lowercase callIdSearch), for a
 * query over `usage_calls c`: a shorter text may also be a whole id that is not a UUID (keyed by its hash).
 */
function claimsMatching(db: Db, callId: string) {
  if (callId.length === 36) return db`c.call_key = call_key(${callId})`;
  const range = uuidPrefixRange(callId);
  return range
    ? db`(c.call_key between ${range[0]}::uuid and ${range[1]}::uuid or c.call_key = call_key(${callId}))`
    : db`c.call_key = call_key(${callId})`;
}

/**
 * The UTC day a UUIDv7 that begins with `prefix` names (its first 48 bits, the call's millisecond: docs/adr/0032), as
 * [from, to) ISO moments; null when the prefix does not hold the whole millisecond (13 characters), names a version
 * other than 7, or a day outside 2000–2099 (no call is recorded there).
 */
export function v7PrefixDay(prefix: string): [string, string] | null {
  const range = uuidPrefixRange(prefix);
  if (!range || prefix.length < 13) return null;
  if (prefix.length >= 15 && prefix[14] !== "7") return null;
  const ms = Number.parseInt(prefix.slice(0, 8) + prefix.slice(9, 13), 16);
  const day = Math.floor(ms / 86_400_000) * 86_400_000;
  const from = new Date(day);
  if (from.getUTCFullYear() < 2000 || from.getUTCFullYear() > 2099) return null;
  return [from.toISOString(), new Date(day + 86_400_000).toISOString()];
}

/**
 * The calls with this id or whose id begins with it, as rows (key_id, started_at, call_key) that lead each to its
 * usage_events row in one partition: a call's claim in usage_calls (docs/adr/0031), and a UUIDv7 call without one in
 * the partition of the day its id names, by that partition's call key index (docs/adr/0032). The caller matches the
 * call's own id on its row as well (callIdMatching).
 */
export function callsMatching(db: Db, callId: string) {
  const claims = db`select c.key_id, c.started_at, c.call_key from usage_calls c where ${claimsMatching(db, callId)}`;
  const day = v7PrefixDay(callId);
  if (!day) return db`(${claims})`;
  const range = uuidPrefixRange(callId)!;
  return db`(${claims}
    union all
    select v.key_id, v.started_at, call_key(v.call_id) from usage_events v
    where v.started_at >= ${day[0]}::timestamptz and v.started_at < ${day[1]}::timestamptz
      and call_key(v.call_id) between ${range[0]}::uuid and ${range[1]}::uuid
      and not exists (select 1 from usage_calls c where c.key_id = v.key_id and c.call_key = call_key(v.call_id)))`;
}

/** The same condition on the call's own id, for its usage_events row `e`. */
export function callIdMatching(db: Db, callId: string) {
  return callId.length === 36 ? db`e.call_id = ${callId}` : db`e.call_id like ${`${callId}%`}`;
}
