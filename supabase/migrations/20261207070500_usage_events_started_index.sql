-- docs/adr/0039: usage_events' time index holds started_at alone, not (started_at, id). The request log's order
-- (started_at desc, id desc) reads it in time order and sorts only the calls that share one started_at (an
-- incremental sort); a keyset cursor (started_at, id) < (t, i) bounds its scan at started_at <= t; a row read by
-- (id, started_at) finds the calls of that microsecond and picks its id. An entry takes 8 bytes less.
-- Built before the old one goes, in this transaction: every read keeps an index.
create index usage_events_started_idx on public.usage_events (started_at desc);
drop index public.usage_events_started_id_idx;
