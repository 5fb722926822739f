import "server-only";
import type { Db } from "@/lib/db/client";
import { hashKey, keyPrefix, looksLikeKey } from "./secret";

export type KeyVerdict =
  | {
      valid: true;
      key: {
        id: string;
        prefix: string;
        name: string;
        userId: string;
        userEmail: string;
        allowedModels: string[];
        rpmLimit: number | null;
        tpmLimit: number | null;
        expiresAt: string | null;
        /** lease: the gateway spends a lease locally; hold: a hold per call (plans counting requests per day). */
        billing: "lease" | "hold";
        /**
         * Changes whenever anything a lease was sized or priced by changes (budgets, models, plan, prices in
         * force, the key's or owner's status, the account falling into deficit): the gateway drops a lease granted
         * under another epoch.
         */
        leaseEpoch: string;
        /** What the gateway applies to the key's calls, as its account's owner set it (issue 30). */
        policy: KeyPolicy;
        /** Whether the key's owners use their own provider keys (BYOK): the gateway then asks which serve its calls
         *  (POST /api/internal/gateway/credentials; the secrets never travel in this answer, which Redis may share). */
        byok: boolean;
      };
    }
  | { valid: false; reason: "unknown" | "revoked" | "expired" | "owner_suspended"; message: string };

export interface KeyPolicy {
  /** The account the calls are paid from: the response cache's namespace, so no tenant reads another's answers. */
  accountId: string;
  /** Off (null) unless the account keeps answers and the key has not opted out. */
  responseCache: { ttlSeconds: number; maxTemperature: number } | null;
  /** PII category → what the guardrails do with it; a category absent is off. */
  pii: Record<string, "mask" | "block">;
}

/**
 * The gateway's question "may this key call?", answered from the database. The lookup is by keyed hash, so
 * nothing is compared against the secret itself. Models: an empty allow-list means every enabled model.
 */
export async function verifyKey(db: Db, secret: string, pepper: string): Promise<KeyVerdict> {
  if (!looksLikeKey(secret)) {
    return {
      valid: false,
      reason: "unknown",
      message: "Invalid API key. Keys issued by Tollgate start with tg_.",
    };
  }
  const [row] = await db<
    {
      id: string;
      prefix: string;
      name: string;
      user_id: string;
      email: string;
      user_status: string;
      status: string;
      allowed_models: string[];
      rpm_limit: number | null;
      tpm_limit: number | null;
      expires_at: Date | null;
      expired: boolean;
      stale_use: boolean;
      requests_per_day: number | null;
      lease_epoch: string;
      organization_id: string | null;
      organization_name: string | null;
      organization_status: string | null;
      member_role: string | null;
      account_id: string;
      response_cache_ttl_seconds: number | null;
      response_cache_max_temperature: number;
      pii_policy: Record<string, "mask" | "block">;
      key_response_cache: boolean;
      byok: boolean;
    }[]
  >`
    select k.id, k.prefix, k.name, k.user_id, u.email, u.status as user_status, k.status,
           -- The narrower of the key's own limits and models and its owner's plan's: a key narrows its plan, never
           -- widens it (model_allowed; least() skips a null). Changes reach the gateway within its auth cache TTL.
           -- …and the enabled virtual models with a candidate among them (routing, issue 29): LiteLLM checks the name
           -- sent against this list before the gateway picks the candidate.
           km.models || coalesce((select array_agg(v.name order by v.name) from virtual_models v
                                  where v.enabled and exists (select 1 from virtual_model_candidates c
                                                              where c.virtual_model_id = v.id and c.model = any(km.models))),
                                 '{}') as allowed_models,
           least(k.rpm_limit, p.rpm_limit) as rpm_limit, least(k.tpm_limit, p.tpm_limit) as tpm_limit,
           k.expires_at,
           (k.expires_at is not null and k.expires_at <= now()) as expired,
           (k.last_used_at is null or k.last_used_at < now() - interval '1 minute') as stale_use,
           p.requests_per_day, a.organization_id, o.name as organization_name,
           o.status as organization_status, om.role as member_role, a.id as account_id,
           a.response_cache_ttl_seconds, a.response_cache_max_temperature::float8 as response_cache_max_temperature,
           a.pii_policy, k.response_cache as key_response_cache,
           (a.byok_fallback is not null or exists (
              select 1 from provider_credentials c
              where (c.scope = 'key' and c.key_id = k.id) or (c.scope = 'member' and c.user_id = k.user_id)
                 or (c.scope = 'organization' and c.organization_id = a.organization_id))) as byok,
           -- Every field keeps its place, null included (a jsonb array, not concat_ws or ||, which drop nulls): a
           -- budget moved from daily to monthly, or from the key to the account, still changes the epoch.
           md5(jsonb_build_array(k.status, u.status, k.allowed_models, k.daily_budget_micros, k.monthly_budget_micros,
                                 a.daily_budget_micros, a.monthly_budget_micros, p.id, p.allowed_models,
                                 p.daily_budget_micros, p.monthly_budget_micros, p.requests_per_day,
                                 -- An organization key: its account's models, the organization's state, the member's
                                 -- role and caps, and seat fees due (a lease is sized by all of them).
                                 a.allowed_models, o.status, om.role, om.daily_cap_micros, om.monthly_cap_micros,
                                 a.seats_due_micros > 0,
                                 -- An account in deficit stops every lease on it (clause 46).
                                 a.balance_micros < a.held_micros,
                                 (select jsonb_agg(jsonb_build_array(m.public_name, m.enabled, m.free, m.max_output_tokens,
                                                                     m.context_window, pv.id)
                                                   order by m.public_name)
                                  from models m cross join lateral price_version_at(m.id, now()) pv),
                                 -- Routing definitions: a virtual model's candidates are what its calls are reserved for.
                                 (select jsonb_agg(jsonb_build_array(v.name, v.enabled, v.updated_at,
                                                                     (select jsonb_agg(jsonb_build_array(c.model, c.quality)
                                                                                       order by c.model)
                                                                      from virtual_model_candidates c
                                                                      where c.virtual_model_id = v.id))
                                                   order by v.name)
                                  from virtual_models v))::text) as lease_epoch
    from api_keys k join users u on u.id = k.user_id join accounts a on a.id = k.account_id
    cross join lateral (select key_models(k.id) as models) km
    left join plans p on p.id = plan_of(a.organization_id, a.plan_id, u.plan_id)
    left join organizations o on o.id = a.organization_id
    left join organization_members om on om.organization_id = a.organization_id and om.user_id = k.user_id
    where k.key_hash = ${hashKey(secret, pepper)}`;
  const shown = keyPrefix(secret);
  if (!row) return { valid: false, reason: "unknown", message: `Invalid API key ${shown}…: no such key.` };
  if (row.status === "revoked") {
    return { valid: false, reason: "revoked", message: `API key ${row.prefix}… has been revoked.` };
  }
  if (row.expired) {
    return {
      valid: false,
      reason: "expired",
      message: `API key ${row.prefix}… expired at ${row.expires_at!.toISOString()}.`,
    };
  }
  if (row.organization_id && row.organization_status !== "active") {
    return {
      valid: false,
      reason: "owner_suspended",
      message: `The organization ${row.organization_name} that owns API key ${row.prefix}… is suspended.`,
    };
  }
  if (row.organization_id && (row.member_role == null || row.member_role === "billing")) {
    return {
      valid: false,
      reason: "revoked",
      message: `API key ${row.prefix}… belongs to someone who is no longer a member of ${row.organization_name} who may use its keys.`,
    };
  }
  if (row.user_status !== "active") {
    return {
      valid: false,
      reason: "owner_suspended",
      message: `The owner of API key ${row.prefix}… is suspended.`,
    };
  }
  // Last use is informative: record it at most once a minute per key, not on every call.
  if (row.stale_use) await db`update api_keys set last_used_at = now() where id = ${row.id}`;
  return {
    valid: true,
    key: {
      id: row.id,
      prefix: row.prefix,
      name: row.name,
      userId: row.user_id,
      userEmail: row.email,
      allowedModels: row.allowed_models,
      rpmLimit: row.rpm_limit,
      tpmLimit: row.tpm_limit,
      expiresAt: row.expires_at?.toISOString() ?? null,
      billing: row.requests_per_day == null ? "lease" : "hold",
      leaseEpoch: row.lease_epoch,
      policy: {
        accountId: row.account_id,
        responseCache:
          row.response_cache_ttl_seconds != null && row.key_response_cache
            ? {
                ttlSeconds: row.response_cache_ttl_seconds,
                maxTemperature: row.response_cache_max_temperature,
              }
            : null,
        pii: row.pii_policy,
      },
      byok: row.byok,
    },
  };
}
