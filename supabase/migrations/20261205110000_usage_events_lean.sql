-- Lean usage rows (issue 27, bench/usage-size.ts): only the indexes a read path uses.
--
-- * (call_id text_pattern_ops, key_id) is the idempotency key and the call id search in one index: settle_usage's
--   ON CONFLICT (key_id, call_id) infers it (a unique index on the same columns, any order, equality the same in
--   every operator class), the (key, call id) look-ups are equalities on both columns, and a call id prefix is a
--   range on its first column. It replaces the unique constraint on (key_id, call_id) and the separate
--   call id index, which were both a whole copy of the call id.
-- * usage_events_model_idx: no read filters by model without a time range and a scope (user, account, key) that
--   another index serves; the platform-wide model views read usage_hourly.
-- * usage_events_lease_idx: nothing reads usage by lease (a call's lease is read from the call), and leases are
--   never deleted, so no foreign-key check needs it; nearly every call the gateway settles names a lease.
create unique index usage_events_call_key on public.usage_events (call_id text_pattern_ops, key_id);
alter table public.usage_events drop constraint usage_events_key_call_key;
drop index public.usage_events_call_id_idx;
drop index public.usage_events_model_idx;
drop index public.usage_events_lease_idx;

-- A call whose price version is known names its model there (price_versions.model_id): settle_usage now stores
-- model_id only for calls with no price version. Existing rows keep theirs (no rewrite of the table).
