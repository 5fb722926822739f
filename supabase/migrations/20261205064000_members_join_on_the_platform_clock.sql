-- A member joins at the platform's clock (tollgate_now(): the injected one in tests), so the seat of the month they
-- joined in is the month the money functions see.
alter table public.organization_members alter column joined_at set default tollgate_now();
