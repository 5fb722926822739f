-- Supabase's REST API (PostgREST) exposes the public schema to its `anon` and `authenticated` roles, and
-- Supabase grants them every table, sequence and function created there by default. Tollgate never uses
-- that API: the control plane connects as the owner. So those roles get nothing, by design rather than by
-- RLS luck: RLS on every table (no policies: deny all), no EXECUTE on our functions for PUBLIC (which
-- would make place_hold & co. callable as RPC), and no grants to anon/authenticated, now and for objects
-- created later. docs/adr/0006-supabase-roles-get-nothing.md; tests/integration/supabase-roles.test.ts.

-- The migration runner's own table (absent when `supabase db push` applies these files instead).
alter table if exists public.schema_migrations enable row level security;

revoke execute on all functions in schema public from public;
-- Global, not IN SCHEMA: a per-schema default cannot take back what PostgreSQL grants PUBLIC by default.
alter default privileges revoke execute on functions from public;

do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated'] loop
    if exists (select 1 from pg_roles where rolname = r) then
      execute format('revoke all on all tables in schema public from %I', r);
      execute format('revoke all on all sequences in schema public from %I', r);
      execute format('revoke all on all functions in schema public from %I', r);
      execute format('alter default privileges in schema public revoke all on tables from %I', r);
      execute format('alter default privileges in schema public revoke all on sequences from %I', r);
      execute format('alter default privileges in schema public revoke all on functions from %I', r);
    end if;
  end loop;
end;
$$;
