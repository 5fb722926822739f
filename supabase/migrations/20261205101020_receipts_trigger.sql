-- Every credit entry gets its receipt in the transaction that writes it (issue_receipt); credits made before
-- receipts existed get theirs now, numbered in the order they were made.
create trigger ledger_entries_receipt after insert on public.ledger_entries
  for each row execute function public.issue_receipt();

with credits as (
  select e.transaction_id, e.account_id, e.amount_micros, t.kind, t.created_at,
         row_number() over (order by t.created_at, e.id) as n
  from public.ledger_entries e
  join public.ledger_transactions t on t.id = e.transaction_id
  join public.accounts a on a.id = e.account_id and a.kind in ('user', 'team')
  where e.amount_micros > 0 and t.kind in ('topup', 'grant', 'redemption', 'adjustment')
)
insert into public.receipts (number, label, transaction_id, account_id, amount_micros, kind, created_at)
select n, 'RC-' || to_char(created_at at time zone 'utc', 'YYYY') || '-' || lpad(n::text, 6, '0'),
       transaction_id, account_id, amount_micros, kind, created_at
from credits;
update public.document_counters set last_number = (select count(*) from public.receipts) where kind = 'receipt';
