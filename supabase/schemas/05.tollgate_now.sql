-- The time the money functions run at: now(), unless a test stands at another moment for its session
-- (select set_config('tollgate.now', '2026-11-30T23:59:59.9Z', false)), e.g. a UTC midnight or a month's end.
create or replace function public.tollgate_now() returns timestamptz
language sql stable as $$
  select coalesce(nullif(current_setting('tollgate.now', true), '')::timestamptz, now())
$$;
