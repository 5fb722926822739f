-- The token classes' part of a charge, in millionths of a micro-USD (price_units adds the other units and rounds up
-- once): input, output, cached-input reads, cache writes and reasoning tokens as counted (not null), at their rates
-- (null: not billed, or for a class, its input or output rate). Plain arithmetic the planner inlines.
create or replace function public.token_charge(
  p_input bigint, p_output bigint, p_cached bigint, p_written bigint, p_reasoning bigint,
  p_input_rate bigint, p_output_rate bigint, p_cached_rate bigint, p_written_rate bigint, p_reasoning_rate bigint
) returns bigint
language sql immutable parallel safe as $$
  select (p_input - least(greatest(p_cached, 0), p_input)
            - least(greatest(p_written, 0), p_input - least(greatest(p_cached, 0), p_input)))
           * coalesce(p_input_rate, 0)
         + least(greatest(p_cached, 0), p_input) * coalesce(p_cached_rate, p_input_rate, 0)
         + least(greatest(p_written, 0), p_input - least(greatest(p_cached, 0), p_input))
           * coalesce(p_written_rate, p_input_rate, 0)
         + (p_output - least(greatest(p_reasoning, 0), p_output)) * coalesce(p_output_rate, 0)
         + least(greatest(p_reasoning, 0), p_output) * coalesce(p_reasoning_rate, p_output_rate, 0)
$$;

-- The same from a call's count map and a version's rate map (keyed by the contract's unit keys; a count not given is
-- 0, a rate not given null). PL/pgSQL so each count and rate is read from its map once.
create or replace function public.token_charge(p_counts jsonb, p_rates jsonb) returns bigint
language plpgsql immutable parallel safe as $$
begin
  return token_charge(coalesce((p_counts->>'input')::bigint, 0), coalesce((p_counts->>'output')::bigint, 0),
                      coalesce((p_counts->>'cached')::bigint, 0), coalesce((p_counts->>'cacheWrite')::bigint, 0),
                      coalesce((p_counts->>'reasoning')::bigint, 0), (p_rates->>'input')::bigint,
                      (p_rates->>'output')::bigint, (p_rates->>'cached')::bigint, (p_rates->>'cacheWrite')::bigint,
                      (p_rates->>'reasoning')::bigint);
end;
$$;
