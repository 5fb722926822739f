-- GDPR erasure (issue 27, part 4): an erased user keeps their row (the ledger, keys and usage point to it) with no
-- name; the audit log stays append-only except for the erasure's pseudonymization (audit_erasure_only).
alter table public.users alter column name drop not null;

drop trigger audit_log_append_only on public.audit_log;
create trigger audit_log_append_only before delete on public.audit_log
  for each row execute function public.reject_change();
create trigger audit_log_erasure_only before update on public.audit_log
  for each row execute function public.audit_erasure_only();
