-- The start of every usage batch (settle_usage, upgrade_usage): refuses the batch if an event's count map is not the
-- contract's units as whole numbers (counts_valid, TG422: priced as it stands it would charge nothing), then locks
-- the batch's keys in id order, then their organization members, the first of the locks every money function takes
-- in the same order (keys, members, accounts, leases), so batches, holds and grants never deadlock. FOR NO KEY UPDATE: it must not queue behind
-- the KEY SHARE locks that inserting a hold takes. The batch is read once for its count maps and once for its keys.
create or replace function public.lock_usage_batch(p_events jsonb) returns void
language plpgsql as $$
declare
  v_keys uuid[];
begin
  -- Every event's units (an event without the key has none to check).
  if not counts_valid(jsonb_path_query_array(p_events, '$[*].units'), false) then
    raise exception 'a usage event''s units must map the contract''s counted units to whole numbers'
      using errcode = 'TG422';
  end if;
  v_keys := array(select distinct (e->>'key_id')::uuid from jsonb_array_elements(p_events) e);
  perform 1 from api_keys k where k.id = any(v_keys) order by k.id for no key update;
  perform 1 from organization_members om
  where (om.organization_id, om.user_id) in (
    select a.organization_id, k.user_id from api_keys k join accounts a on a.id = k.account_id
    where a.organization_id is not null and k.id = any(v_keys))
  order by om.organization_id, om.user_id for no key update;
end;
$$;
