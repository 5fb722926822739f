-- docs/adr/0035: a usage row names the deployment that served it (LiteLLM's model, e.g. "openai/gpt-4o-mini-2024-07-18")
-- by a 4-byte id into provider_models, instead of the name's text in every row (about 30 bytes, the same few names on
-- millions of rows). A name is added the first time a batch reports it and never changes or leaves (a row names it for
-- as long as the row is kept).
-- Catalog-only: no row is rewritten; rows written before keep their text, and every reader reads the name from the id,
-- else from the text (lib/usage/columns.ts). Before the functions that write the id (the next migration).
create table public.provider_models (
  id integer generated always as identity,
  name text not null,
  created_at timestamptz not null default now(),
  constraint provider_models_pkey primary key (id),
  constraint provider_models_name_key unique (name),
  constraint provider_models_name_check check (name <> '' and length(name) <= 256)
);
alter table public.provider_models enable row level security;

alter table public.usage_events
  add column provider_model_id integer,
  alter column provider_model drop not null, alter column provider_model drop default;
