-- The per-request part of the BYOK fee of an account's plan (plan_of), in micro-USD (clause 62): 0 when the account
-- has no plan, as plans.byok_fee_request_micros defaults. byok_charge adds it to the share of byok_fee_bps.
create or replace function public.byok_fee_request_micros(p_account_id uuid)
returns bigint
language sql stable parallel safe as $$
  select coalesce((select p.byok_fee_request_micros
                   from accounts a left join users u on u.id = a.owner_user_id
                   join plans p on p.id = plan_of(a.organization_id, a.plan_id, u.plan_id)
                   where a.id = p_account_id), 0);
$$;
