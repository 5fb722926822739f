-- Gateway: platform-issued API keys and the model catalog.

create table public.models (
  id uuid not null default gen_random_uuid(),
  -- The name apps send as "model"; it is also the LiteLLM model group that serves it.
  public_name text not null,
  litellm_model_group text not null,
  provider text not null,
  description text not null default '',
  context_window integer not null,
  max_output_tokens integer not null,
  enabled boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint models_pkey primary key (id),
  constraint models_public_name_key unique (public_name),
  constraint models_public_name_check check (public_name ~ '^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$'),
  constraint models_context_window_check check (context_window > 0),
  constraint models_max_output_tokens_check check (max_output_tokens > 0 and max_output_tokens <= context_window)
);
create trigger models_set_updated_at before update on public.models
  for each row execute function public.set_updated_at();

create table public.api_keys (
  id uuid not null default gen_random_uuid(),
  user_id uuid not null,
  name text not null,
  -- First characters of the secret, shown so people can tell their keys apart.
  prefix text not null,
  -- HMAC-SHA256(KEY_PEPPER, secret): the secret itself is never stored.
  key_hash bytea not null,
  status text not null default 'active',
  -- Empty means every enabled model.
  allowed_models text[] not null default '{}',
  rpm_limit integer,
  tpm_limit integer,
  expires_at timestamptz,
  created_by uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  revoked_at timestamptz,
  revoked_by uuid,
  last_used_at timestamptz,
  rotated_from uuid,
  constraint api_keys_pkey primary key (id),
  constraint api_keys_user_id_fkey foreign key (user_id) references public.users (id) on delete cascade,
  constraint api_keys_created_by_fkey foreign key (created_by) references public.users (id) on delete set null,
  constraint api_keys_revoked_by_fkey foreign key (revoked_by) references public.users (id) on delete set null,
  constraint api_keys_rotated_from_fkey foreign key (rotated_from) references public.api_keys (id) on delete set null,
  constraint api_keys_key_hash_key unique (key_hash),
  constraint api_keys_status_check check (status in ('active', 'revoked')),
  constraint api_keys_revoked_check check ((status = 'revoked') = (revoked_at is not null)),
  constraint api_keys_rpm_limit_check check (rpm_limit is null or rpm_limit > 0),
  constraint api_keys_tpm_limit_check check (tpm_limit is null or tpm_limit > 0),
  constraint api_keys_name_check check (length(name) between 1 and 100)
);
create index api_keys_user_id_idx on public.api_keys (user_id, created_at desc);
create index api_keys_created_at_idx on public.api_keys (created_at desc, id desc);
create trigger api_keys_set_updated_at before update on public.api_keys
  for each row execute function public.set_updated_at();

alter table public.models enable row level security;
alter table public.api_keys enable row level security;
