-- The playground's own key per developer: managed by the platform (its secret is derived on the server from the
-- key id, never shown or stored), billed and limited like any key, listed on the keys page as the playground's.
alter table public.api_keys
  add column purpose text not null default 'app',
  add constraint api_keys_purpose_check check (purpose in ('app', 'playground'));
create unique index api_keys_one_playground_key on public.api_keys (user_id)
  where purpose = 'playground' and status = 'active';
