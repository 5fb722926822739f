-- Routing (issue 29): virtual models an admin defines (`auto`, `auto:cheapest`, …) over real models with quality
-- scores. The gateway picks one candidate per call by the strategy (tollgate_litellm/routing.py); the call is
-- reserved for the dearest candidate the key may call and charged at the model that served (billing contract).

create table public.virtual_models (
  id uuid not null default gen_random_uuid(),
  -- The name apps send as "model"; never a real model's name (checked by lib/routing on every write).
  name text not null,
  strategy text not null,
  enabled boolean not null default true,
  description text not null default '',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint virtual_models_pkey primary key (id),
  constraint virtual_models_name_key unique (name),
  constraint virtual_models_name_check check (name ~ '^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$'),
  constraint virtual_models_strategy_check check (strategy in ('cheapest', 'fastest', 'quality', 'balanced')),
  constraint virtual_models_description_check check (char_length(description) <= 300)
);
create trigger virtual_models_set_updated_at before update on public.virtual_models
  for each row execute function public.set_updated_at();

create table public.virtual_model_candidates (
  virtual_model_id uuid not null,
  -- A real model's public name (its LiteLLM model group).
  model text not null,
  quality smallint not null,
  constraint virtual_model_candidates_pkey primary key (virtual_model_id, model),
  constraint virtual_model_candidates_virtual_model_id_fkey foreign key (virtual_model_id)
    references public.virtual_models (id) on delete cascade,
  constraint virtual_model_candidates_model_fkey foreign key (model)
    references public.models (public_name) on update cascade on delete restrict,
  constraint virtual_model_candidates_quality_check check (quality between 0 and 100)
);
-- verifyKey asks, per key, which virtual models have a candidate the key may call.
create index virtual_model_candidates_model_idx on public.virtual_model_candidates (model);

alter table public.virtual_models enable row level security;
alter table public.virtual_model_candidates enable row level security;
