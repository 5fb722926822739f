-- model_allowed gains the account's own allow-list (an organization narrows its plan): the three-argument version
-- goes, so no call resolves to it.
drop function public.model_allowed(text, text[], text[]);
