-- The moment a call's key names (docs/adr/0032): for a key that is a UUIDv7 (version digit 7), the Unix millisecond in
-- its first 48 bits; null for any other key. A call's key is its id itself when the id is a UUID in canonical lowercase
-- text, and a hash with version digit 0 otherwise (call_key), so a key of version 7 is exactly the key of a canonical
-- lowercase UUIDv7 id: the id the gate makes for every billed call (docs/adr/0028). Immutable. Not STRICT, so a query
-- inlines it.
create or replace function public.call_key_time(p_key uuid) returns timestamptz
language sql immutable parallel safe
as $$
  select case when substr(p_key::text, 15, 1) = '7'
              then (timestamp 'epoch' + ('x' || lpad(substr(p_key::text, 1, 8) || substr(p_key::text, 10, 4), 16, '0'))::bit(64)::bigint
                                        * interval '1 millisecond') at time zone 'utc' end
$$;
