-- A call already recorded with a worse outcome takes a better one reported later (clause 9: a failed attempt,
-- then the success of a retry or fallback): re-priced by price_call at the version it was recorded with (the
-- one in force when it started, if none), the difference charged (or refunded) as one charge_adjustment
-- transaction per call, and the balance and the budget counters of the call's own UTC day and month moved
-- (clause 26; a call served from a lease counts in the lease's day). What the call asked for (images, audio,
-- characters) is the most any attempt reported, its image size and quality the first known. Events with a worse or equal outcome, or for calls not recorded, change nothing. Rows are locked
-- keys first, then accounts, in id order, as place_hold and settle_usage do. A new charge above the call's
-- reservation (its draw, else its hold) is recorded as its overrun (clause 45). A success answered from the response
-- cache is charged cache_hit_charge of its price and costs nothing (clause 60); a call the owner's own credentials
-- served (its row's credential 'byok') byok_charge: the plan's BYOK fee, at no cost (clause 62). Returns how many calls changed.
create or replace function public.upgrade_usage(p_events jsonb)
returns integer
language plpgsql as $$
#variable_conflict use_column
declare
  v_count integer;
begin
  perform lock_usage_batch(p_events);
  perform 1 from accounts a
  where a.id in (select u.account_id from jsonb_to_recordset(p_events) as e(key_id uuid, call_id text)
                 join lateral usage_call(e.key_id, e.call_id) u on true)
  order by a.id for no key update;
  with input as (
    -- The token counts a later attempt reports (the contract's 'prompt' and 'output' units, keyed by unit key).
    select distinct on (e.key_id, e.call_id) e.call_id, e.key_id, e.status, e.ended_at, e.error_class, e.units,
           e.image_size, e.image_quality, coalesce(e.cache_hit, false) and e.status = 'success' as cache_hit,
           (select coalesce(jsonb_object_agg(d.key, e.units->d.key), '{}')
            from price_unit_contract d where d.reserve in ('prompt', 'output') and e.units ? d.key) as tokens
    from jsonb_to_recordset(p_events) as e(call_id text, key_id uuid, status text, ended_at timestamptz,
                                          error_class text, units jsonb, image_size text, image_quality text,
                                          cache_hit boolean)
    order by e.key_id, e.call_id, outcome_rank(e.status) desc
  ),
  target as (
    select u.id, u.started_at, u.key_id, u.call_id, u.account_id, u.status as old_status, u.revenue_micros as old_revenue,
           coalesce(u.draw_micros, h.amount_micros, 0) as reserved,
           coalesce(h.created_at, l.created_at, u.started_at) as reserved_at,
           i.status, coalesce((i.tokens->>'input')::integer, 0) as prompt_tokens,
           coalesce((i.tokens->>'output')::integer, 0) as completion_tokens,
           coalesce((i.tokens->>'cached')::integer, 0) as cached_tokens,
           coalesce((i.tokens->>'cacheWrite')::integer, 0) as cache_write_tokens,
           coalesce((i.tokens->>'reasoning')::integer, 0) as reasoning_tokens, i.ended_at, i.error_class,
           (pv.v).id as price_version_id, asked.counts as asked,
           coalesce(u.image_size, i.image_size) as image_size, coalesce(u.image_quality, i.image_quality) as image_quality,
           i.cache_hit, list_price.revenue as full_revenue,
           case when i.cache_hit then cache_hit_charge(list_price.revenue, (pv.v).cache_hit_bps)
                when u.credential = 'byok' then byok_charge(list_price.revenue, u.account_id)
                else list_price.revenue end
             as revenue,
           -- An answer from the response cache costs the operator nothing (clause 60).
           case when i.cache_hit or u.credential = 'byok' then 0
                else coalesce(price_call(pv.v, 'cost', unit_rates(pv.v, 'cost'), asked.counts || i.tokens,
                                         coalesce(u.image_size, i.image_size), coalesce(u.image_quality, i.image_quality)), 0)
           end as cost
    from input i
    -- The call's row (usage_call: through its claim, one partition).
    join lateral usage_call(i.key_id, i.call_id) u on true
    left join holds h on h.id = u.hold_id
    left join leases l on l.id = u.lease_id
    -- What the call asked for (images, audio, characters): the most any of its attempts reported, so a success
    -- after a failure that reported none is charged for what it made; an image size and quality as first known.
    cross join lateral (select coalesce(jsonb_object_agg(d.key, greatest(coalesce((to_jsonb(u)->>d.count_column)::bigint, 0),
                                                                         coalesce((i.units->>d.key)::bigint, 0))),
                                        '{}') as counts
                        from price_unit_contract d where d.reserve = 'asked') asked
    left join lateral (
      select p as v from price_versions p where p.id = u.price_version_id
      union all
      select a as v from price_version_at(u.model_id, u.started_at) a where u.price_version_id is null
    ) pv on true
    cross join lateral (
      select coalesce(price_call(pv.v, 'price', unit_rates(pv.v, 'price'), asked.counts || i.tokens,
                                 coalesce(u.image_size, i.image_size), coalesce(u.image_quality, i.image_quality)), 0)
               as revenue
    ) list_price
    where outcome_rank(i.status) > outcome_rank(u.status)
  ),
  updated as (
    update usage_events u set
      -- Its billing status follows (billing_status(status): docs/adr/0043).
      status = t.status,
      -- A zero count is stored as null (docs/adr/0033).
      prompt_tokens = t.prompt_tokens, completion_tokens = t.completion_tokens,
      cached_tokens = nullif(t.cached_tokens, 0), cache_write_tokens = nullif(t.cache_write_tokens, 0),
      reasoning_tokens = nullif(t.reasoning_tokens, 0),
      images = nullif((t.asked->>'image')::integer, 0), audio_ms = nullif((t.asked->>'audio')::bigint, 0),
      characters = nullif((t.asked->>'characters')::integer, 0), image_size = t.image_size,
      image_quality = t.image_quality,
      ended_at = t.ended_at, error_class = t.error_class,
      revenue_micros = t.revenue, cost_micros = t.cost, price_version_id = t.price_version_id,
      overrun_micros = nullif(greatest(0, t.revenue - t.reserved), 0),
      cache_hit = t.cache_hit, cache_saved_micros = case when t.cache_hit then t.full_revenue - t.revenue end
    from target t where u.id = t.id and u.started_at = t.started_at
    returning u.id
  ),
  changed as (
    select t.*, t.revenue - t.old_revenue as delta from target t where t.revenue <> t.old_revenue
  ),
  txns as (
    insert into ledger_transactions (kind, idempotency_key, reason)
    select 'charge_adjustment', charge_upgrade_key(c.key_id, c.call_id, c.status),
           'call ' || c.call_id || ': ' || c.old_status || ' → ' || c.status
    from changed c
    returning id, idempotency_key
  ),
  entries as (
    insert into ledger_entries (transaction_id, account_id, amount_micros)
    select x.id, e.account_id, e.amount from changed c
    join txns x on x.idempotency_key = charge_upgrade_key(c.key_id, c.call_id, c.status)
    cross join lateral (values (c.account_id, -c.delta), ((select id from accounts where code = 'revenue'), c.delta))
      as e(account_id, amount)
    returning 1
  ),
  accounts_updated as (
    update accounts a set
      balance_micros = a.balance_micros - coalesce((select sum(c.delta) from changed c where c.account_id = a.id), 0),
      -- A call first reported failed gave its request back: it served after all.
      day_requests = counter_moved(a.day_requests, (
        select sum(window_used(1, a.budget_day, t.reserved_at, 'day')) from target t
        where t.account_id = a.id and t.old_status = 'failure')),
      day_used_micros = counter_moved(a.day_used_micros, (
        select sum(window_used(c.delta, a.budget_day, c.reserved_at, 'day')) from changed c where c.account_id = a.id)),
      month_used_micros = counter_moved(a.month_used_micros, (
        select sum(window_used(c.delta, a.budget_month, c.reserved_at, 'month'))
        from changed c where c.account_id = a.id))
    where a.id in (select account_id from changed union select account_id from target where old_status = 'failure')
    returning 1
  ),
  keys_updated as (
    select move_key_windows(array_agg(c.key_id), array_agg(c.delta), array_agg(c.reserved_at)) as moved
    from changed c
  )
  select (select count(*) from updated)::int into v_count
  -- keys_updated is a SELECT (move_key_windows updates the keys): only a value the statement reads makes it run.
  from (select (select count(*) from entries) + (select count(*) from accounts_updated)
               + (select sum(moved) from keys_updated) as touched) t
  where t.touched >= 0;
  return v_count;
end;
$$;
