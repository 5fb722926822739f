-- The BYOK platform fee of an account's plan (plan_of), in basis points of the price book's price (clause 62): 500
-- (5 %) when the account has no plan, as plans.byok_fee_bps defaults. settle_usage and upgrade_usage charge a call
-- served with the owner's own provider credentials cache_hit_charge(full price, this): the same share arithmetic.
create or replace function public.byok_fee_bps(p_account_id uuid)
returns integer
language sql stable parallel safe as $$
  select coalesce((select p.byok_fee_bps
                   from accounts a left join users u on u.id = a.owner_user_id
                   join plans p on p.id = plan_of(a.organization_id, a.plan_id, u.plan_id)
                   where a.id = p_account_id), 500);
$$;
