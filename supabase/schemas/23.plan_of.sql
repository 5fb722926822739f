-- The plan an account spends under (ADR 0016): an organization's account has its own (accounts.plan_id), a person's
-- is their user's (users.plan_id). Holds, lease grants and the gateway's auth answer read plans through it.
create or replace function public.plan_of(p_organization_id uuid, p_account_plan_id uuid, p_user_plan_id uuid)
returns uuid
language sql immutable parallel safe as $$
  select case when p_organization_id is null then p_user_plan_id else p_account_plan_id end
$$;
