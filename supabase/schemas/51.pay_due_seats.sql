-- Pays an organization's due seat fees from its account (ADR 0016, decision 7), oldest first (by month, then by
-- when each was charged) while the available money (balance − held) covers the next one, stopping at the first it
-- does not, so a later fee is never paid before an earlier one. Each fee paid is its own balanced 'seat_fee' ledger
-- transaction (idempotency key seat:<organization>:<user>:<yyyy-mm>: the account pays, the `revenue` system account
-- receives), and the balance and seats_due_micros go down by it in the conditional UPDATE that checks the money,
-- so the account never pays what calls in progress hold. The account row is locked before its seat rows (no money
-- function locks them the other way), so a charge, a retry and a hold of one organization take turns. Returns the
-- fees it paid; an account with nothing due, or not an organization's, pays nothing.
create or replace function public.pay_due_seats(p_account_id uuid)
returns table (user_id uuid, month date, amount_micros bigint, ledger_transaction_id uuid)
language plpgsql as $$
#variable_conflict use_column
declare
  v_organization_id uuid;
  v_revenue_id uuid;
  v_charge record;
  v_txn uuid;
begin
  select a.organization_id into v_organization_id
  from accounts a where a.id = p_account_id and a.kind = 'team' for no key update;
  if not found then
    return;
  end if;
  select a.id into v_revenue_id from accounts a where a.code = 'revenue';
  for v_charge in
    select c.user_id, c.month, c.amount_micros, u.email
    from seat_charges c join users u on u.id = c.user_id
    where c.organization_id = v_organization_id and c.status = 'due'
    order by c.month, c.created_at, c.user_id
    for update of c
  loop
    update accounts a set balance_micros = a.balance_micros - v_charge.amount_micros,
                          seats_due_micros = a.seats_due_micros - v_charge.amount_micros
    where a.id = p_account_id and a.balance_micros - a.held_micros >= v_charge.amount_micros;
    exit when not found;
    insert into ledger_transactions (kind, idempotency_key, reason)
    values ('seat_fee',
            'seat:' || v_organization_id || ':' || v_charge.user_id || ':' || to_char(v_charge.month, 'YYYY-MM'),
            'Seat fee for ' || to_char(v_charge.month, 'YYYY-MM') || ': ' || v_charge.email)
    returning id into v_txn;
    insert into ledger_entries (transaction_id, account_id, amount_micros)
    values (v_txn, p_account_id, -v_charge.amount_micros), (v_txn, v_revenue_id, v_charge.amount_micros);
    update seat_charges c set status = 'paid', ledger_transaction_id = v_txn, paid_at = tollgate_now()
    where c.organization_id = v_organization_id and c.user_id = v_charge.user_id and c.month = v_charge.month;
    user_id := v_charge.user_id;
    month := v_charge.month;
    amount_micros := v_charge.amount_micros;
    ledger_transaction_id := v_txn;
    return next;
  end loop;
end;
$$;
