-- A key made without naming its account spends from its user's own (a person's key, as before organizations);
-- an organization key names the organization's account (lib/keys/create.ts). Trigger on api_keys inserts.
create or replace function public.key_account() returns trigger
language plpgsql as $$
begin
  if new.account_id is null then
    new.account_id := (select a.id from public.accounts a where a.owner_user_id = new.user_id);
  end if;
  return new;
end;
$$;
