-- Redeems a code in one statement: marks it redeemed (only if unredeemed and its batch has not expired), writes
-- a balanced `redemption` ledger transaction (the grants account pays), and credits the target account — all or
-- nothing, so a code credits once, to one account, whoever races for it. The target is the user's own account or an
-- organization's (p_account_id; the caller checked that the user may top it up); p_user_id is who redeemed it.
-- Returns nothing when the code is unknown, used or expired (the caller cannot tell which: no oracle for guessing).
create or replace function public.redeem_code(p_code_hash bytea, p_user_id uuid, p_account_id uuid, p_txn uuid)
returns table (code_id uuid, account_id uuid, amount_micros bigint, batch_note text)
language sql as $$
  with target as (
    select c.id, b.amount_micros, b.note, a.id as account_id, c.prefix
    from redemption_codes c
    join redemption_batches b on b.id = c.batch_id
    join accounts a on a.id = p_account_id and a.kind in ('user', 'team')
    where c.code_hash = p_code_hash and c.redeemed_at is null
      and (b.expires_at is null or b.expires_at > tollgate_now())
      and a.balance_micros + b.amount_micros <= 9007199254740991
  ),
  used as (
    update redemption_codes c set redeemed_at = tollgate_now(), redeemed_by = p_user_id,
                                  account_id = t.account_id, ledger_transaction_id = p_txn
    from target t where c.id = t.id and c.redeemed_at is null
    returning c.id, t.account_id, t.amount_micros, t.note, t.prefix
  ),
  txn as (
    insert into ledger_transactions (id, kind, idempotency_key, reason, created_by)
    select p_txn, 'redemption', 'redemption:' || u.id, 'Redemption code ' || u.prefix || '…'
           || case when u.note <> '' then ' (' || u.note || ')' else '' end, p_user_id
    from used u
    returning id
  ),
  entries as (
    insert into ledger_entries (transaction_id, account_id, amount_micros)
    select x.id, e.account_id, e.amount from txn x cross join used u
    cross join lateral (values (u.account_id, u.amount_micros),
                               ((select id from accounts where code = 'grants'), -u.amount_micros)) as e(account_id, amount)
    returning 1
  ),
  credited as (
    update accounts a set balance_micros = a.balance_micros + u.amount_micros
    from used u where a.id = u.account_id
    returning a.id
  )
  -- entries and credited run whether read or not (data-modifying CTEs always complete).
  select u.id, u.account_id, u.amount_micros, u.note from used u
$$;
