-- What a member's live reservations on an account hold at p_at (ADR 0016): their open holds and what their open or
-- closing leases still reserve, in all and made in p_at's UTC day and month — the part of a member's cap counters
-- that is not yet charged (clause 26). The members page subtracts it from the counters (what was charged), and
-- member_joins adds it to a re-joining member's charges (what the counters must hold).
create or replace function public.member_reserved(p_account_id uuid, p_user_id uuid, p_at timestamptz)
returns table (reserved bigint, day_reserved bigint, month_reserved bigint)
language sql stable as $$
  select coalesce(sum(x.amount), 0)::bigint,
         coalesce(sum(x.amount) filter (where budget_window(x.at, 'day') = budget_window(p_at, 'day')), 0)::bigint,
         coalesce(sum(x.amount) filter (where budget_window(x.at, 'month') = budget_window(p_at, 'month')), 0)::bigint
  from (select h.amount_micros as amount, h.created_at as at from holds h
        where h.account_id = p_account_id and h.user_id = p_user_id and h.status = 'open'
        union all
        select l.reserved_micros, l.created_at from leases l
        where l.account_id = p_account_id and l.user_id = p_user_id and l.status in ('open', 'closing')) x
$$;
