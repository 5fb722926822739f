-- The price version of a model in force at a moment: the one lookup every hold, charge and view uses.
create or replace function public.price_version_at(p_model_id uuid, p_at timestamptz)
returns setof public.price_versions
language sql stable as $$
  select * from public.price_versions
  where model_id = p_model_id and effective_from <= p_at
  order by effective_from desc
  limit 1
$$;
