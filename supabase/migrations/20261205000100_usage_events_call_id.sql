-- The request log's search by call id (the whole id or its first characters): an index on call_id alone, with
-- text_pattern_ops so `call_id like 'prefix%'` is an index range too (the unique (key_id, call_id) cannot serve it).
create index if not exists usage_events_call_id_idx on public.usage_events (call_id text_pattern_ops);
