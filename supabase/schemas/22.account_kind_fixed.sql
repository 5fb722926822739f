-- An account's kind never changes (docs/adr/0040): a usage row marks an organization's call (usage_events.org) when it
-- is recorded, and the account index holds the marked rows only, which is right only while an account that was a
-- team's stays one and no other becomes one. Trigger on accounts updates that name the column.
create or replace function public.account_kind_fixed() returns trigger
language plpgsql as $$
begin
  if new.kind is distinct from old.kind then
    raise exception 'an account''s kind never changes (account %)', old.id using errcode = 'insufficient_privilege';
  end if;
  return new;
end;
$$;
