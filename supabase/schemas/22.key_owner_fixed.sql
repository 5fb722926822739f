-- A key's user and account never change (docs/adr/0037): usage_events keeps no index on user_id, and a user's calls
-- are read as the calls of the user's keys, which is right only while every call of a key has the key's user and
-- account. Trigger on api_keys updates that name either column.
create or replace function public.key_owner_fixed() returns trigger
language plpgsql as $$
begin
  if new.user_id is distinct from old.user_id or new.account_id is distinct from old.account_id then
    raise exception 'a key''s user and account never change (key %)', old.id using errcode = 'insufficient_privilege';
  end if;
  return new;
end;
$$;
