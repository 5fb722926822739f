-- The plan's BYOK fee is found once, by byok_fees (supabase/schemas/23.byok_fees.sql): the two lookups it replaces,
-- each joining the account to its plan again, go.
drop function public.byok_fee_bps(uuid);
drop function public.byok_fee_request_micros(uuid);
