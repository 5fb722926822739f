-- Bring your own provider key (issue 29, billing contract clause 61): credentials a key, a person or an organization
-- stores for a provider, sealed with the envelope key (lib/providers/crypto.ts: AES-256-GCM, the sealed text names
-- the key id that sealed it, so rotation re-seals row by row). The gateway asks the platform for a key's resolved
-- credentials (POST /api/internal/gateway/credentials): key → member → organization → platform, first active wins.

create table public.provider_credentials (
  id uuid not null default gen_random_uuid(),
  -- Exactly one owner: a key (pinned on the key's edit), a person (their keys, their organization keys too), or an
  -- organization (every member's keys of it).
  scope text not null,
  key_id uuid,
  user_id uuid,
  organization_id uuid,
  provider text not null,
  label text not null default '',
  -- azure and openai_compatible only (in production: https to public addresses, or a host the operator allowed).
  api_base text,
  -- azure only.
  api_version text,
  -- <key id>:v1.<iv>.<tag>.<ciphertext>: never returned, never logged, never in the audit log.
  secret_sealed text not null,
  -- The secret's last 4 characters, shown masked (sk-…abcd).
  secret_hint text not null,
  -- invalid: the provider refused it (a test, or a call reported as an auth failure); last_error says why.
  status text not null default 'active',
  last_error text,
  last_checked_at timestamptz,
  created_by uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint provider_credentials_pkey primary key (id),
  constraint provider_credentials_key_id_fkey foreign key (key_id) references public.api_keys (id) on delete cascade,
  constraint provider_credentials_user_id_fkey foreign key (user_id) references public.users (id) on delete cascade,
  constraint provider_credentials_organization_id_fkey foreign key (organization_id)
    references public.organizations (id) on delete cascade,
  constraint provider_credentials_created_by_fkey foreign key (created_by) references public.users (id) on delete set null,
  constraint provider_credentials_scope_check check (
    (scope = 'key' and key_id is not null and user_id is null and organization_id is null)
    or (scope = 'member' and user_id is not null and key_id is null and organization_id is null)
    or (scope = 'organization' and organization_id is not null and key_id is null and user_id is null)),
  constraint provider_credentials_provider_check
    check (provider in ('openai', 'anthropic', 'azure', 'gemini', 'openai_compatible')),
  constraint provider_credentials_api_base_check check (
    (provider in ('azure', 'openai_compatible')) = (api_base is not null) and char_length(api_base) <= 2048),
  constraint provider_credentials_api_version_check check (
    (api_version is null or provider = 'azure') and char_length(api_version) <= 40),
  constraint provider_credentials_label_check check (char_length(label) <= 100),
  constraint provider_credentials_hint_check check (char_length(secret_hint) <= 4),
  constraint provider_credentials_status_check check (status in ('active', 'invalid')),
  constraint provider_credentials_last_error_check check (char_length(last_error) <= 500)
);
-- One credential per provider per owner (a new one replaces the old by delete + create).
create unique index provider_credentials_key_provider_key on public.provider_credentials (key_id, provider)
  where scope = 'key';
create unique index provider_credentials_member_provider_key on public.provider_credentials (user_id, provider)
  where scope = 'member';
create unique index provider_credentials_organization_provider_key
  on public.provider_credentials (organization_id, provider) where scope = 'organization';
create trigger provider_credentials_set_updated_at before update on public.provider_credentials
  for each row execute function public.set_updated_at();
alter table public.provider_credentials enable row level security;

-- The owner's choice when a call's key has no usable credential for the provider: null while the account has never
-- stored one (the platform's credentials serve, as before BYOK); false, set when its first credential is stored,
-- refuses such calls (the default); true serves them with the platform's credentials, billed at the price book.
alter table public.accounts add column byok_fallback boolean;

-- Hosts an admin allowed for openai_compatible and azure bases besides public https ones (self-hosted vLLM/Ollama).
alter table public.operator_settings add column provider_allowed_hosts text[] not null default '{}';

-- The BYOK platform fee: basis points of the price book's price of the same call (500 = 5 %), rounded up once.
alter table public.plans
  add column byok_fee_bps integer not null default 500,
  add constraint plans_byok_fee_bps_check check (byok_fee_bps between 0 and 10000);

-- Which credentials served a call: the platform's (billed at the price book) or the owner's (billed the fee, no cost).
alter table public.usage_events
  add column credential text not null default 'platform',
  add constraint usage_events_credential_check check (credential in ('platform', 'byok'));
