-- The charge for a call's units at a set of rates, rounded up once (clauses 1 and 41). Counts (p_counts) and rates
-- (p_rates, unit_rates) are keyed by the contract's unit keys; a count not given is 0. Tokens are priced per million
-- by class (token_charge): cached-input reads and cache writes are part of the input count, reasoning tokens part of
-- the output count (as LiteLLM reports them), so each token is priced once, at its class's rate (a null rate: the
-- input or output rate); counts are clamped so no class exceeds what contains it. Every other unit (images, audio in
-- ms, characters, the request fee: the contract's 'asked' and 'always' units) is its count × its rate × its scale
-- (unit_charge, generated from the contract).
create or replace function public.price_units(p_counts jsonb, p_rates jsonb) returns bigint
language plpgsql immutable parallel safe as $$
begin
  return price_units(p_counts, p_rates, token_charge(p_counts, p_rates));
end;
$$;

-- The same charge when the caller has priced the token classes already (p_tokens: token_charge of counts and rates it
-- read once, as settle_usage does for a whole batch): the other units added, rounded up once.
create or replace function public.price_units(p_counts jsonb, p_rates jsonb, p_tokens bigint) returns bigint
language sql immutable parallel safe as $$
  select (p_tokens + unit_charge(p_counts, p_rates) + 999999) / 1000000
$$;
