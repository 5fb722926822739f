import "server-only";
import type { Db } from "@/lib/db/client";

// A call id search through usage_calls, whose claims are keyed by call_key (the id as a uuid: docs/adr/0031,
// supabase/schemas/05.call_key.sql). The whole id is its key; a prefix of a UUID is the range of keys that begin with
// it, a range of usage_calls_call_key. The caller matches the call's own id on its usage_events row as well: an id
// that is not a UUID is keyed by a hash, which a range may meet by chance.

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
export function claimsMatching(db: Db, callId: string) {
  if (callId.length === 36) return db`c.call_key = call_key(${callId})`;
  const range = uuidPrefixRange(callId);
  return range
    ? db`(c.call_key between ${range[0]}::uuid and ${range[1]}::uuid or c.call_key = call_key(${callId}))`
    : db`c.call_key = call_key(${callId})`;
}

/** The same condition on the call's own id, for its usage_events row `e`. */
export function callIdMatching(db: Db, callId: string) {
  return callId.length === 36 ? db`e.call_id = ${callId}` : db`e.call_id like ${`${callId}%`}`;
}
