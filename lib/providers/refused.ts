import "server-only";
import type { UsageEvent } from "@/lib/billing/schemas";
import type { Db } from "@/lib/db/client";

// A BYOK call the provider refused for its credential (401: LiteLLM's AuthenticationError) is a failure, free as
// every failure; the credential that served it is marked invalid, so the next resolution skips it (the gateway sees
// that within its auth TTL) and its owner sees why. A 403 (PermissionDeniedError) is free too but marks nothing: a
// valid key is refused a model its project may not use, and any member could otherwise switch an organization's key
// off for everyone by asking for one (review finding).

const AUTH_ERRORS = /^AuthenticationError$/;

export async function markRefusedCredentials(db: Db, events: UsageEvent[]): Promise<number> {
  const refused = events.filter(
    (e) =>
      e.credential === "byok" &&
      e.credentialId &&
      e.status === "failure" &&
      AUTH_ERRORS.test(e.errorClass ?? ""),
  );
  if (!refused.length) return 0;
  const rows = await db`
    update provider_credentials c set status = 'invalid', last_checked_at = now(),
      last_error = 'The provider refused this key on a call (' || e.error_class || ').'
    from (select distinct on (x.id) x.id, x.error_class
          from jsonb_to_recordset(${db.json(refused.map((e) => ({ id: e.credentialId, error_class: e.errorClass, key_id: e.keyId })))}::jsonb)
            as x(id uuid, error_class text, key_id uuid)
          join api_keys k on k.id = x.key_id) e
    where c.id = e.id and c.status = 'active'
    returning c.id`;
  return rows.length;
}
