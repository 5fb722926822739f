-- Every table with an updated_at column gets this trigger; application code never sets it.
create or replace function public.set_updated_at() returns trigger
language plpgsql as $$
begin
  new.updated_at := now();
  return new;
end;
$$;
