-- docs/adr/0042: usage_events' btree indexes are ascending in time. Calls arrive newest last: in a descending index
-- each new entry lands on the leftmost page of its range, whose splits leave both halves half full; ascending, it
-- lands on the rightmost, which PostgreSQL splits leaving the old page full (its fillfactor). Every read in newest-
-- first order scans the same index backward, at the same cost. Each index is built before the old one goes, in this
-- transaction (every read keeps an index), then takes the old one's name.
create index usage_events_started_asc_idx on public.usage_events (started_at);
drop index public.usage_events_started_idx;
alter index public.usage_events_started_asc_idx rename to usage_events_started_idx;

create index usage_events_key_asc_idx on public.usage_events (key_id, started_at);
drop index public.usage_events_key_idx;
alter index public.usage_events_key_asc_idx rename to usage_events_key_idx;

create index usage_events_org_account_asc_idx on public.usage_events (account_id, started_at) where org;
drop index public.usage_events_org_account_idx;
alter index public.usage_events_org_account_asc_idx rename to usage_events_org_account_idx;

create index usage_events_failures_asc_idx on public.usage_events (started_at) where status <> 'success';
drop index public.usage_events_failures_idx;
alter index public.usage_events_failures_asc_idx rename to usage_events_failures_idx;

create index usage_events_overrun_asc_idx on public.usage_events (started_at) where overrun_micros > 0;
drop index public.usage_events_overrun_idx;
alter index public.usage_events_overrun_asc_idx rename to usage_events_overrun_idx;
