-- A run records each invariant violation once, and each one apart: the unique key named no ledger transaction, so two
-- unbalanced transactions (no account, no call) collapsed into one variance row and the run's page showed one. An
-- invariant row is now also told apart by the id it is about (detail.id: the account, or the transaction). Re-running
-- a finalize still records nothing twice.
drop index public.settlement_variances_once_key;
create unique index settlement_variances_once_key on public.settlement_variances
  (run_id, kind, coalesce(call_id, ''), coalesce(account_id::text, ''),
   (case when kind = 'invariant' then coalesce(detail->>'id', '') else '' end));
