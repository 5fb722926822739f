-- Every credit gets a receipt, numbered in the transaction that moves the money (so the numbering has no gap: a
-- credit rolled back takes its number with it). A credit is an entry that adds money to a person's or an
-- organization's account in a top-up (card or admin), a grant, a redemption or a positive adjustment; refunds and
-- charges are not credits. Numbers are the operator's, one sequence for all accounts (document_counters).
create or replace function public.issue_receipt() returns trigger
language plpgsql as $$
declare
  v_kind text;
  v_number bigint;
  v_at timestamptz;
begin
  if new.amount_micros <= 0 then
    return new;
  end if;
  select t.kind, t.created_at into v_kind, v_at from ledger_transactions t where t.id = new.transaction_id;
  if v_kind not in ('topup', 'grant', 'redemption', 'adjustment') then
    return new;
  end if;
  if not exists (select 1 from accounts a where a.id = new.account_id and a.kind in ('user', 'team')) then
    return new;
  end if;
  update document_counters set last_number = last_number + 1 where kind = 'receipt'
    returning last_number into v_number;
  insert into receipts (number, label, transaction_id, account_id, amount_micros, kind, created_at)
  values (v_number, 'RC-' || to_char(v_at at time zone 'utc', 'YYYY') || '-' || lpad(v_number::text, 6, '0'),
          new.transaction_id, new.account_id, new.amount_micros, v_kind, v_at);
  return new;
end;
$$;
