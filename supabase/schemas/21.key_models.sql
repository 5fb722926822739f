-- The enabled models a key may call (model_allowed over the key's, its plan's and its account's lists), by name: the
-- gateway's auth answer and a lease grant hand it to the gateway.
create or replace function public.key_models(p_key_id uuid) returns text[]
language sql stable as $$
  select coalesce(array_agg(m.public_name order by m.public_name), '{}')
  from api_keys k join accounts a on a.id = k.account_id join users u on u.id = k.user_id
  left join plans p on p.id = plan_of(a.organization_id, a.plan_id, u.plan_id)
  join models m on m.enabled and model_allowed(m.public_name, k.allowed_models, p.allowed_models, a.allowed_models)
  where k.id = p_key_id
$$;
