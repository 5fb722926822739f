-- docs/adr/0040: the account index holds organizations' calls only, and a row no longer stores its user.
--
-- A row says whether its account is an organization's (`org`: true, or null for anyone else's, a null costing one bit
-- of the row's null bitmap). The (account_id, started_at) index keeps those rows only: an organization's log and
-- reports read it as before, and a person's account is read through its owner's keys (usage_events_key_idx), as a
-- user's calls are since docs/adr/0037. That is right only while an account's kind never changes: no code changes
-- it, and the trigger below makes it a rule (its function: supabase/schemas/22.account_kind_fixed.sql).
create trigger accounts_kind_fixed before update of kind on public.accounts
  for each row execute function public.account_kind_fixed();

-- true or null, never false (a reader asks `org`, and the index holds the true ones).
alter table public.usage_events add column org boolean constraint usage_events_org_check check (org);

-- The rows recorded before: an organization's account's rows are marked (an account is 'team' from its making). The
-- roll-ups do not change (no count or amount moves), so their update trigger is off for it: it would gather every
-- marked row, old and new, into two arrays in one statement (past about 5 million rows more than an array holds).
alter table public.usage_events disable trigger usage_events_roll_up_update;
update public.usage_events e set org = true
from public.accounts a
where a.id = e.account_id and a.kind = 'team';
alter table public.usage_events enable trigger usage_events_roll_up_update;

-- Every daily partition's index goes with the parent's.
drop index public.usage_events_account_idx;
create index usage_events_org_account_idx on public.usage_events (account_id, started_at desc) where org;

-- A row's user is its key's (api_keys_owner_fixed: a key's user never changes), read through api_keys.
alter table public.usage_events drop column user_id;
