-- redeem_code gains the account it credits (a person's own or an organization's): the three-argument version goes,
-- so no call resolves to it.
drop function public.redeem_code(bytea, uuid, uuid);
