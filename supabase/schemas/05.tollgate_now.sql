-- The time the money functions run at: now(), unless a test stands at another moment for its transaction
-- (select set_config('tollgate.now', '2026-11-30T23:59:59.9Z', true)), e.g. a UTC midnight or a month's end. Never
-- for a session (false): behind a transaction pooler the setting would stay on the server connection and reach
-- whichever client's transaction runs on it next (tests/pooled/pooler.test.ts shows it).
create or replace function public.tollgate_now() returns timestamptz
language sql stable as $$
  select coalesce(nullif(current_setting('tollgate.now', true), '')::timestamptz, now())
$$;
