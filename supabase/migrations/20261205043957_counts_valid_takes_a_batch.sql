-- counts_valid checks a batch's count maps in one query: its parameter is now an array of maps (p_maps). A
-- parameter cannot be renamed in place; the generated migration that follows creates it again.
drop function public.counts_valid(jsonb, boolean);
