-- usage_calls keys each call's claim by call_key(call_id), its id as a 16-byte uuid, instead of the id's 37 bytes of
-- text (docs/adr/0031): the claim's row and its unique index each shrink by about a quarter. The table is made anew
-- in key order (a column dropped in place would keep its bytes in every row until each is rewritten), then swapped in;
-- settle_usage, upgrade_usage and place_hold follow in the next migration. Nothing else refers to the table.
-- Claims are locked against writes first (reads go on): a batch settling meanwhile waits for the swap, so no claim it
-- makes can be left behind in the table dropped. One that arrives between this migration's commit and the next's finds
-- no call_id column and fails, and is tried again (the gateway's outbox resends a batch; a hold's caller is answered
-- 503 and retries): a few milliseconds of a deploy.
lock table public.usage_calls in exclusive mode;
create table public.usage_calls_keyed (
  call_key uuid not null,
  key_id uuid not null,
  started_at timestamptz not null
);
insert into public.usage_calls_keyed (call_key, key_id, started_at)
select public.call_key(call_id), key_id, started_at from public.usage_calls order by 1, 2;
drop table public.usage_calls;
alter table public.usage_calls_keyed rename to usage_calls;
create unique index usage_calls_call_key on public.usage_calls (call_key, key_id);
create index usage_calls_started_brin on public.usage_calls using brin (started_at);
alter table public.usage_calls enable row level security;
