-- Price units carried as one map (docs/adr/0015): price_units, price_call, price_worst_case and place_hold take the
-- units keyed by the contract's unit keys instead of a parameter per unit. Their positional forms go first; the
-- generated migration that follows creates the new ones from supabase/schemas/ and the unit table from the contract.
drop function public.price_units(bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint,
                                 bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint);
drop function public.price_call(public.price_versions, text, bigint, bigint, bigint, bigint, bigint, bigint, bigint,
                                bigint, text, text);
drop function public.price_worst_case(public.price_versions, bigint, bigint, bigint, bigint, bigint, text, text);
drop function public.place_hold(uuid, text, text, text, integer, integer, integer, text[], integer, bigint, integer,
                                text, text, text);
