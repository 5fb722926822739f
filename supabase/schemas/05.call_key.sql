-- A call's key in usage_calls (docs/adr/0031): its id as a uuid, 16 bytes. The gateway's ids are UUIDs in their
-- canonical lowercase text (v7 since docs/adr/0028, LiteLLM's v4 before), each keyed by the uuid it spells. Any other
-- id (a test's "call-1", an uppercase spelling) is keyed by the MD5 of its text with the version digit set to 0, and a
-- canonical text whose version digit is 0 (no UUID the gateway makes) is keyed the same way: the two kinds of key never
-- meet, so two ids that differ as text share a key only by an MD5 collision between ids the gateway itself made.
-- Immutable: an index and a join may compute it. The canonical form is tested without an anchored regular expression
-- (3.3 µs an id on this host, against about 1.5 µs for these string tests): 36 characters, only 0-9, a-f and dashes,
-- exactly four dashes, at 9, 14, 19 and 24; such a text always casts, to the uuid whose text it is. Not STRICT, so a
-- query inlines it (null gives null either way).
create or replace function public.call_key(p_call_id text) returns uuid
language sql immutable parallel safe
as $$
  select case when length(p_call_id) = 36 and p_call_id !~ '[^-0-9a-f]' and length(replace(p_call_id, '-', '')) = 32
                   and substr(p_call_id, 9, 1) = '-' and substr(p_call_id, 14, 1) = '-'
                   and substr(p_call_id, 19, 1) = '-' and substr(p_call_id, 24, 1) = '-'
                   and substr(p_call_id, 15, 1) <> '0'
              then p_call_id::uuid
              else overlay(md5(p_call_id) placing '0' from 13 for 1)::uuid end
$$;
