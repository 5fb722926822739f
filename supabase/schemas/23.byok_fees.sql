-- The BYOK fee of an account's plan (plan_of), found once (issue 29, billing contract clause 62): its share in basis
-- points of the price book's price (500, 5 %, without a plan) and its per-request part in micro-USD (0 without a plan),
-- as plans' columns default. byok_charge charges a call by it; the owner's Provider keys page shows it.
create or replace function public.byok_fees(p_account_id uuid)
returns table (fee_bps integer, fee_request_micros bigint)
language sql stable parallel safe as $$
  select coalesce(p.byok_fee_bps, 500), coalesce(p.byok_fee_request_micros, 0)
  from (select 1) one
  left join lateral (
    select pl.byok_fee_bps, pl.byok_fee_request_micros
    from accounts a left join users u on u.id = a.owner_user_id
    join plans pl on pl.id = plan_of(a.organization_id, a.plan_id, u.plan_id)
    where a.id = p_account_id
  ) p on true;
$$;
