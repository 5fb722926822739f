-- A reservation prices a call at its own moment (a hold at its created_at, a lease at its created_at: the draws use
-- the prices its grant answered with), and settle_usage charges the call at the version in force at that moment. So
-- the versions in force at a reservation's moment must be the versions it saw: a version made later must not take
-- effect at or before that moment (docs/adr/0038). A new version takes this lock exclusively and takes effect no
-- earlier than the time it holds it (lib/billing/prices.ts); place_hold and grant_lease take it shared before they
-- read a price. A reservation then either holds it before the version does (the version's effective time comes after
-- the reservation's moment) or reads prices after the version committed (and sees it). Transaction-scoped.
create or replace function public.lock_price_book(p_exclusive boolean) returns void
language plpgsql as $$
begin
  if p_exclusive then
    perform pg_advisory_xact_lock(hashtextextended('tollgate.price_book', 0));
  else
    perform pg_advisory_xact_lock_shared(hashtextextended('tollgate.price_book', 0));
  end if;
end;
$$;
