-- Append-only tables call this from BEFORE UPDATE/DELETE/TRUNCATE triggers.
create or replace function public.reject_change() returns trigger
language plpgsql as $$
begin
  raise exception '% is append-only: % is not allowed', tg_table_name, tg_op
    using errcode = 'insufficient_privilege';
end;
$$;
