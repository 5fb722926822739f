-- Issue 30: the response cache and the guardrails. Every column here is read by settle_usage (usage events), by the
-- auth answer (the account's and key's policies) or by the price book (the cache-hit share).

-- An account's policies, set by its owner (a person for their own account; an organization's owners and admins):
-- * response cache: off while response_cache_ttl_seconds is null; else answers are kept that many seconds, for
--   requests whose temperature is at most response_cache_max_temperature (the provider default counts as 1);
-- * pii_policy: category → 'mask' | 'block' (a category absent is off). The categories are the gateway's
--   (tollgate_litellm/guard.py: PII_CATEGORIES).
alter table public.accounts
  add column response_cache_ttl_seconds integer,
  add column response_cache_max_temperature numeric(3, 2) not null default 0,
  add column pii_policy jsonb not null default '{}'::jsonb,
  add constraint accounts_response_cache_ttl_check
    check (response_cache_ttl_seconds is null or response_cache_ttl_seconds between 1 and 604800),
  add constraint accounts_response_cache_temperature_check
    check (response_cache_max_temperature between 0 and 2),
  add constraint accounts_pii_policy_check
    check (jsonb_typeof(pii_policy) = 'object'
           and pii_policy - array['email', 'phone', 'card', 'iban', 'gov_id', 'ip', 'secret'] = '{}'::jsonb
           and not jsonb_path_exists(pii_policy, '$.* ? (@.type() != "string" || (@ != "mask" && @ != "block"))'));

-- A key may stay out of its account's response cache (its answers are neither kept nor served from it).
alter table public.api_keys add column response_cache boolean not null default true;

-- What a cache hit is charged, as a share of the same call's price in basis points (10,000: the full price, the
-- default, so no existing price changes; 1,000: 10 %; 0: free). cache_hit_charge applies it.
alter table public.price_versions
  add column cache_hit_bps integer not null default 10000,
  add constraint price_versions_cache_hit_bps_check check (cache_hit_bps between 0 and 10000);

-- A usage row says whether the call was answered from the cache (then cost_micros is 0 and cache_saved_micros is
-- what the customer did not pay: the full price minus the hit's charge), how many values of each PII category
-- were masked (never the values; null when none), and the call's prompt-injection score (0–100; null for calls
-- recorded before scoring). Nulls cost a row nothing but a bit.
alter table public.usage_events
  add column cache_hit boolean not null default false,
  add column cache_saved_micros bigint,
  add column pii_masked jsonb,
  add column safety_score smallint,
  add constraint usage_events_cache_saved_check check (cache_saved_micros is null or cache_saved_micros >= 0),
  add constraint usage_events_pii_masked_check check (pii_masked is null or jsonb_typeof(pii_masked) = 'object'),
  add constraint usage_events_safety_score_check check (safety_score between 0 and 100);

alter table public.usage_hourly
  add column cache_hits bigint not null default 0,
  add column cache_saved_micros bigint not null default 0;
