-- usage_events drops its primary key (id, started_at) for a BRIN index on id (docs/adr/0030). Every read or write
-- of one row by its id also names its started_at and is served by usage_events_started_id_idx (started_at, id); a
-- look-up by id alone (a call's page without its day) finds the few pages of each partition whose ids bracket it in
-- the BRIN index, as ids are handed out in the order rows arrive. No foreign key and no ON CONFLICT names the key; the
-- identity keeps ids unique. Each partition's btree on (id, started_at) was ~30-33 bytes per call; its BRIN index is a
-- few kilobytes a day.
alter table public.usage_events drop constraint usage_events_pkey;
create index usage_events_id_brin on public.usage_events using brin (id) with (pages_per_range = 16, autosummarize = on);
