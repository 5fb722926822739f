-- Charges one member's seat of an organization for a UTC month (ADR 0016, decision 7), once per (organization,
-- member, month): the first call records the fee as due on the organization's account (seats_due_micros grows by
-- it) and pays what the available money covers, oldest due fee first (pay_due_seats), so a balance that covers it
-- pays it at once, in one balanced 'seat_fee' ledger transaction. A fee the balance cannot pay stays due, and
-- place_hold and grant_lease refuse the organization's keys with 402 'seats' (key_spends) until a top-up's retry
-- pays it. A later call for the same seat, whatever its amount, changes nothing and answers the row as it stands
-- (charged false). Only a current member's seat is charged: one removed since the caller listed them gets no row.
-- p_month is the month's first day; p_amount the fee (seat_prorated for a member who joins during the month).
create or replace function public.charge_seat(p_organization_id uuid, p_user_id uuid, p_month date, p_amount bigint)
returns table (status text, amount_micros bigint, ledger_transaction_id uuid, paid_at timestamptz, charged boolean)
language plpgsql as $$
#variable_conflict use_column
declare
  v_account_id uuid;
  v_charged boolean;
begin
  if p_month is null or p_month <> date_trunc('month', p_month::timestamp)::date then
    raise exception 'a seat is charged for a month, named by its first day, not %', p_month using errcode = 'TG422';
  end if;
  if p_amount is null or p_amount <= 0 or p_amount > 9007199254740991 then
    raise exception 'a seat fee is a positive whole number of micro-USD, not %', p_amount using errcode = 'TG422';
  end if;
  select a.id into v_account_id from accounts a where a.organization_id = p_organization_id for no key update;
  if not found then
    return;
  end if;
  insert into seat_charges (organization_id, user_id, month, amount_micros, status, created_at)
  select p_organization_id, p_user_id, p_month, p_amount, 'due', tollgate_now()
  where exists (select 1 from organization_members m
                where m.organization_id = p_organization_id and m.user_id = p_user_id)
  on conflict (organization_id, user_id, month) do nothing;
  v_charged := found;
  if v_charged then
    update accounts a set seats_due_micros = a.seats_due_micros + p_amount where a.id = v_account_id;
    perform pay_due_seats(v_account_id);
  end if;
  return query
    select c.status, c.amount_micros, c.ledger_transaction_id, c.paid_at, v_charged from seat_charges c
    where c.organization_id = p_organization_id and c.user_id = p_user_id and c.month = p_month;
end;
$$;
