-- Whether a key may call a model (clause 27): the key's own model list, its plan's and its account's (an
-- organization narrows its plan) each restrict (an empty list: no restriction) and all apply, so a key can narrow
-- what its plan and organization allow, never widen it — a developer edits their own keys, and a plan is what they
-- bought. Holds, lease grants and the gateway's auth answer all ask here.
create or replace function public.model_allowed(
  p_model text, p_key_models text[], p_plan_models text[], p_account_models text[] default '{}'
)
returns boolean
language sql immutable parallel safe as $$
  select (cardinality(coalesce(p_key_models, '{}')) = 0 or p_model = any(p_key_models))
     and (cardinality(coalesce(p_plan_models, '{}')) = 0 or p_model = any(p_plan_models))
     and (cardinality(coalesce(p_account_models, '{}')) = 0 or p_model = any(p_account_models))
$$;
