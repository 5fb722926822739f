-- Whether every count map in p_maps (a JSON array of them) is well formed (clause 48): a JSON object whose keys are
-- the contract's counted units (only those a call asks for where p_asked_only: a hold's) and whose values are whole
-- numbers of at most 15 digits. A count map that is an array, a scalar, a string, a fraction or a negative would
-- otherwise be priced as nothing (every lookup null), so place_hold refuses it with TG422 and lock_usage_batch
-- refuses the batch. One set-based query for a whole batch, jsonb operators on each map (no per-key rows, no regular
-- expressions: a batch of a thousand maps costs under a millisecond).
create or replace function public.counts_valid(p_maps jsonb, p_asked_only boolean) returns boolean
language plpgsql stable parallel safe as $$
declare
  v_units text[] := array(select d.key from price_unit_contract d
                          where d.count_column is not null and (not p_asked_only or d.reserve = 'asked'));
begin
  -- A number prints without an exponent, so a whole one prints without a '.'.
  return jsonb_typeof(p_maps) = 'array' and not exists (
    select 1 from jsonb_array_elements(p_maps) m
    where jsonb_typeof(m) <> 'object' or m - v_units <> '{}'::jsonb
       or jsonb_path_exists(m, 'strict $.* ? (@.type() != "number" || @ < 0 || @ > 999999999999999)')
       or strpos(jsonb_path_query_array(m, 'strict $.*')::text, '.') > 0);
end;
$$;
