create or replace function public.create_user_account() returns trigger
language plpgsql as $$
begin
  insert into public.accounts (kind, owner_user_id) values ('user', new.id);
  return new;
end;
$$;
