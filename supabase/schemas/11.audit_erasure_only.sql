-- audit_log is append-only, except for one change: a user's erasure (GDPR) pseudonymizes the personal fields of the
-- rows about them (before/after text, the client address) inside the erasing transaction, which says so with
-- `set local tollgate.erasing = 'on'` (lib/gdpr/erase.ts). What happened, when, by which id, stays as it was.
create or replace function public.audit_erasure_only() returns trigger
language plpgsql as $$
begin
  if tg_op = 'UPDATE' and coalesce(current_setting('tollgate.erasing', true), '') = 'on'
     and new.id = old.id and new.at = old.at and new.actor_id is not distinct from old.actor_id
     and new.actor_kind = old.actor_kind and new.action = old.action and new.target_type = old.target_type
     and new.target_id is not distinct from old.target_id and new.request_id is not distinct from old.request_id
     and (new.ip is null or new.ip = old.ip) then
    return new;
  end if;
  raise exception '% is append-only: % is not allowed', tg_table_name, tg_op
    using errcode = 'insufficient_privilege';
end;
$$;
