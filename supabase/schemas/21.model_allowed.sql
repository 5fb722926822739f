-- Whether a key may call a model (clause 27): the key's own model list and its owner's plan's each restrict (an
-- empty list: no restriction) and both apply, so a key can narrow what its plan allows, never widen it — a
-- developer edits their own keys, and a plan is what they bought. Holds, lease grants and the gateway's auth answer
-- all ask here.
create or replace function public.model_allowed(p_model text, p_key_models text[], p_plan_models text[])
returns boolean
language sql immutable parallel safe as $$
  select (cardinality(coalesce(p_key_models, '{}')) = 0 or p_model = any(p_key_models))
     and (cardinality(coalesce(p_plan_models, '{}')) = 0 or p_model = any(p_plan_models))
$$;
