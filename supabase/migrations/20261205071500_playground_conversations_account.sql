-- A saved playground conversation belongs to the account whose playground made it (issue 25): an organization's
-- (the switcher's ?org=) or, null, the person's own. Each playground lists and opens only its own, so a chat made on
-- an organization's money is never continued on the person's, nor the other way. Still one developer's own: other
-- members of the organization never see it. Existing conversations stay personal.
alter table public.playground_conversations
  add column account_id uuid,
  add constraint playground_conversations_account_id_fkey foreign key (account_id)
    references public.accounts (id) on delete cascade;
drop index public.playground_conversations_user_updated_idx;
create index playground_conversations_user_account_updated_idx
  on public.playground_conversations (user_id, account_id, updated_at desc);
