-- A reservation prices a call at its own moment (a hold at its created_at, a lease at its created_at: the draws use
-- the prices its grant answered with), and settle_usage charges the call at the version in force at that moment. So
-- the versions in force at a reservation's moment must be the versions it saw: a version made later must not take
-- effect at or before that moment (docs/adr/0038). place_hold and grant_lease take this lock shared before they read a
-- price; a new version takes it exclusively and takes effect no earlier than the time it holds it
-- (lib/billing/prices.ts). A reservation then either holds it before the version does (the version's effective time
-- comes after the reservation's moment) or reads prices after the version committed (and sees it). Transaction-scoped.
-- The exclusive side only tries (true when it has the lock): a waiting exclusive request would queue every new hold
-- and grant behind it, and a hold may hold the shared lock while it waits for its key's row (a settling batch, an
-- erasure), so a price change that waited could stall every reservation on the platform for that long.
create or replace function public.lock_price_book(p_exclusive boolean) returns boolean
language plpgsql as $$
begin
  if p_exclusive then
    return pg_try_advisory_xact_lock(hashtextextended('tollgate.price_book', 0));
  end if;
  perform pg_advisory_xact_lock_shared(hashtextextended('tollgate.price_book', 0));
  return true;
end;
$$;
