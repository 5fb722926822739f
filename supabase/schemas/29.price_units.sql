-- The charge for a call's units at a set of rates, rounded up once (clauses 1 and 41). Counts (p_counts) and rates
-- (p_rates, unit_rates) are keyed by the contract's unit keys; a count not given is 0. Tokens are priced per million
-- by class: cached-input reads and cache writes are part of the input count, reasoning tokens part of the output
-- count (as LiteLLM reports them), so each token is priced once, at its class's rate (a null rate: the input or
-- output rate); counts are clamped so no class exceeds what contains it. Every other unit (images, audio in ms,
-- characters, the request fee: the contract's 'asked' and 'always' units) is its count × its rate × its scale
-- (unit_charge, generated from the contract). PL/pgSQL so each count and rate is read from its map once.
create or replace function public.price_units(p_counts jsonb, p_rates jsonb) returns bigint
language plpgsql immutable parallel safe as $$
declare
  v_input bigint := coalesce((p_counts->>'input')::bigint, 0);
  v_output bigint := coalesce((p_counts->>'output')::bigint, 0);
  v_input_rate bigint := coalesce((p_rates->>'input')::bigint, 0);
  v_output_rate bigint := coalesce((p_rates->>'output')::bigint, 0);
  v_cached bigint := least(greatest(coalesce((p_counts->>'cached')::bigint, 0), 0), v_input);
  v_written bigint := least(greatest(coalesce((p_counts->>'cacheWrite')::bigint, 0), 0), v_input - v_cached);
  v_reasoning bigint := least(greatest(coalesce((p_counts->>'reasoning')::bigint, 0), 0), v_output);
begin
  return ((v_input - v_cached - v_written) * v_input_rate
          + v_cached * coalesce((p_rates->>'cached')::bigint, v_input_rate)
          + v_written * coalesce((p_rates->>'cacheWrite')::bigint, v_input_rate)
          + (v_output - v_reasoning) * v_output_rate
          + v_reasoning * coalesce((p_rates->>'reasoning')::bigint, v_output_rate)
          + unit_charge(p_counts, p_rates)
          + 999999) / 1000000;
end;
$$;
