-- lock_price_book now answers whether it has the lock (its exclusive side only tries: docs/adr/0038); a function's
-- result type cannot be replaced, so it goes first and the next migration makes it again.
drop function public.lock_price_book(boolean);
