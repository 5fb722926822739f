-- Whether a map of counts is well formed (clause 48): a JSON object whose keys are the contract's counted units
-- (only those a call asks for where p_asked_only: a hold's) and whose values are whole numbers of at most 15 digits.
-- A count map that is an array, a scalar, a string, a fraction or a negative would otherwise be priced as nothing
-- (every lookup null), so place_hold refuses it with TG422 and settle_usage and upgrade_usage refuse the batch.
create or replace function public.counts_valid(p_counts jsonb, p_asked_only boolean) returns boolean
language sql stable parallel safe as $$
  select jsonb_typeof(p_counts) = 'object' and not exists (
    select 1 from jsonb_each(p_counts) c
    left join price_unit_contract d on d.key = c.key and d.count_column is not null
                                   and (not p_asked_only or d.reserve = 'asked')
    where d.key is null or jsonb_typeof(c.value) <> 'number' or c.value::text !~ '^[0-9]{1,15}$')
$$;
