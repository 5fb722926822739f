-- Settles a batch of usage events in one statement (called by lib/billing/settle.ts; the contract's
-- clauses 1, 6–12, 20): a usage row per new (key, call id) (exactly once across the daily partitions of usage_events:
-- claimed by its row in its id's day for a UUIDv7, else in usage_calls), each charged at the price of the model group that
-- served it (a fallback included), in the version in force when its hold was placed or its lease granted (else when
-- the call started; a group missing from the catalog is priced as the model the hold was for), the unspent rest released, one balanced ledger
-- transaction for the batch (an entry per account), and the accounts' and keys' usage counters, each moved in
-- the UTC day and month the call started in (clause 26: a window that has rolled over since is left alone). A call
-- served from a lease (clauses 31–36) names it and its draw: the lease's reservation goes down by the draw (never
-- below zero; a lease returned and fully settled closes), its money counts in the lease's UTC day, and a served
-- call counts one request of that day. Rows are locked keys first, then their organization members, then accounts,
-- in id order, then leases (by the UPDATE), the order every money function takes: no deadlock between holds, grants and batches.
-- A charge above its reservation (its draw, else its hold: clause 45) is an anomaly: the call records the excess
-- (overrun_micros), and on a lease the excess comes off the lease's reservation first (the lease goes down by the
-- larger of the draw and the charge), so it is paid from money already reserved; the batch answers which leases
-- shrank by how much, and which keys' accounts it left in deficit (available below zero), so the gateway stops
-- drawing for them at once (clause 46). A call answered from the response cache is charged cache_hit_charge of its
-- full price and costs nothing (clause 60); its row keeps what the customer saved, its PII counts and safety score.
-- A call served with the owner's own provider credentials (credential 'byok', clause 62) is charged the plan's BYOK
-- fee, byok_charge of its full price (the plan's share rounded up once plus its per-request fee, at most the full
-- price), and costs nothing.
-- An event started before the claims horizon (usage_claims_horizon: retention removes older claims, so a replay of such
-- a call would find none), or more than a day after tollgate_now() (a skewed or forged clock), is neither recorded nor
-- charged, nor a UUIDv7 call of a day retention has dropped (usage_closed_days: its claim was its row, dropped with the
-- day's partition): the batch counts it (expired_events, when its call has no claim in usage_calls: one with a claim is a replay
-- or an upgrade as any other; a UUIDv7 call's replay outside them is counted too, its row not looked for) and goes on.
-- No statement here reads usage_events: an insert locks only the partition it lands in (its ON CONFLICT arbiter is that
-- partition's own index), so a batch never waits for retention dropping an old day's partition.
-- FOR NO KEY UPDATE, not FOR UPDATE: it must not queue behind the KEY SHARE locks that inserting a hold takes.
create or replace function public.settle_usage(p_events jsonb, p_txn uuid)
returns table (inserted_count integer, charged_micros bigint, unknown_key_events integer, overrun_calls integer,
               overrun_micros bigint, lease_overruns jsonb, deficit_key_ids uuid[],
               expired_events integer)
language plpgsql as $$
#variable_conflict use_column
declare
  v_kept_from timestamptz;
  v_latest timestamptz := tollgate_now() + interval '1 day';
  v_rows_from timestamptz;
  v_dropped date[];
  v_closing date[];
begin
  perform lock_usage_batch(p_events);
  -- Shared to the commit: retention's advance_usage_claims_horizon waits for this batch before any claim goes.
  perform pg_advisory_xact_lock_shared(hashtextextended('tollgate.usage_calls.horizon', 0));
  select h.kept_from, h.rows_from into v_kept_from, v_rows_from from usage_claims_horizon h;
  -- The days retention has dropped (close_usage_days, under the same lock, then the drop): a UUIDv7 call of one is not
  -- recorded, its claim (its row) gone with the day's partition. A day being dropped (closed, not yet dropped) may yet
  -- be kept: a batch with a UUIDv7 call of it is refused whole, to be sent again (the webhook answers 500 and the
  -- outbox retries), rather than guess. A v7 call's day is always its id's day (below).
  v_dropped := array(select d.day from usage_closed_days d
                     where d.dropped and d.day >= (v_kept_from at time zone 'utc')::date);
  v_closing := array(select d.day from usage_closed_days d where not d.dropped);
  if cardinality(v_closing) > 0 and exists (
       select 1 from jsonb_to_recordset(p_events) as e(call_id text)
       cross join lateral (select call_key_time(call_key(e.call_id)) as t offset 0) k
       where k.t >= v_rows_from and (k.t at time zone 'utc')::date = any(v_closing)) then
    raise exception 'usage of a day retention is dropping: send the batch again'
      using errcode = 'TG503', detail = array_to_string(v_closing, ',');
  end if;
  -- The batch's accounts, in id order, before the statement below reads them (its counters read their windows).
  perform 1 from accounts a
  where a.id in (select k.account_id from api_keys k
                 where k.id in (select (e->>'key_id')::uuid from jsonb_array_elements(p_events) e))
  order by a.id for no key update;
  return query
    with input as (
      -- One event per call: the best outcome in the batch (clause 9); worse ones change nothing.
      -- units: the call's counts, keyed by the contract's unit keys (price_call prices them as given).
      -- A call is its key and call_key (call id as a uuid, docs/adr/0031): computed once an event. A UUIDv7 call
      -- (call_time: the moment its id names, from usage_claims_horizon.rows_from on) is claimed by its row in the
      -- partition of its id's UTC day (docs/adr/0032): recorded at its reported start, unless that falls on another UTC
      -- day (a failure reported at 23:59:59.999 and its retry's success at 00:00:00.004), then at its id's moment; so
      -- every report of the call meets the same partition. Any other call keeps its claim in usage_calls.
      select distinct on (e.key_id, ids.call_key) * from jsonb_to_recordset(p_events) as e(
        call_id text, key_id uuid, model_group text, provider_model text, status text, stream boolean,
        units jsonb, reported_cost_micros bigint, started_at timestamptz, ended_at timestamptz, error_class text,
        lease_id uuid, draw_micros bigint, first_token_at timestamptz, kind text, image_size text,
        image_quality text, cache_hit boolean, pii jsonb, safety_score smallint, credential text)
      -- Each computed once an event (offset 0: a lateral the planner would otherwise flatten into every reference).
      cross join lateral (select call_key(e.call_id) as call_key offset 0) ids
      cross join lateral (select t.call_time,
                                 case when t.call_time is not null
                                           and date_trunc('day', e.started_at at time zone 'utc')
                                               <> date_trunc('day', t.call_time at time zone 'utc')
                                      then t.call_time else e.started_at end as recorded_at
                          from (select case when m.at >= v_rows_from then m.at end as call_time
                                from (select call_key_time(ids.call_key) as at offset 0) m offset 0) t
                          offset 0) k
      order by e.key_id, ids.call_key, outcome_rank(e.status) desc
    ),
    -- The deployments the batch names (docs/adr/0035): a row stores the name's id. A name new to provider_models is
    -- added here; one another batch added after this statement's snapshot is not seen (its insert does nothing here),
    -- and the rows of this batch keep that name as text (readers take either). New names go in in name order: an
    -- insert meeting another batch's uncommitted name waits for that batch, so two batches bringing the same new names
    -- in different orders would wait on each other (a deadlock an outside review reproduced); in one order they never do.
    provider_names as (
      select distinct i.provider_model as pm_name from input i where i.provider_model <> ''
    ),
    provider_added as (
      insert into provider_models (name)
      select n.pm_name from provider_names n
      where not exists (select 1 from provider_models pm where pm.name = n.pm_name)
      order by n.pm_name
      on conflict (name) do nothing
      returning id as pm_id, name as pm_name
    ),
    provider_ids as (
      select pm.id as pm_id, pm.name as pm_name from provider_models pm join provider_names n on n.pm_name = pm.name
      union all
      select pm_id, pm_name from provider_added
    ),
    enriched as (
      select i.call_id, i.call_key, i.call_time, i.key_id, i.model_group, i.provider_model, i.status, i.stream, i.units,
             -- The token counts, read once: priced (token_charge) and recorded from here.
             coalesce((i.units->>'input')::bigint, 0) as input_tokens,
             coalesce((i.units->>'output')::bigint, 0) as output_tokens,
             coalesce((i.units->>'cached')::bigint, 0) as cached_tokens,
             coalesce((i.units->>'cacheWrite')::bigint, 0) as cache_write_tokens,
             coalesce((i.units->>'reasoning')::bigint, 0) as reasoning_tokens,
             i.reported_cost_micros, i.recorded_at as started_at, i.ended_at, i.error_class, i.first_token_at,
             coalesce(i.kind, 'chat') as kind, i.image_size, i.image_quality,
             -- Only a served call can have been answered from the response cache.
             coalesce(i.cache_hit, false) and i.status = 'success' as cache_hit,
             case when i.pii <> '{}'::jsonb then i.pii end as pii_masked, i.safety_score,
             coalesce(i.credential, 'platform') as credential,
             -- An organization's call is marked (its account's index holds those only: docs/adr/0040); a row's user is
             -- its key's, not stored (a key's user never changes: docs/adr/0037).
             a.id as account_id, case when a.kind = 'team' then true end as org,
             coalesce(m.id, h.model_id) as model_id,
             h.id as hold_id, h.status as hold_status, h.amount_micros as hold_amount, h.created_at as hold_created_at,
             -- A lease the event names is taken only if it is this key's (else the call is charged unreserved).
             l.id as lease_id, case when l.id is not null then greatest(coalesce(i.draw_micros, 0), 0) end as draw_micros,
             pv.id as price_version_id, pv,
             case when l.id is not null then greatest(coalesce(i.draw_micros, 0), 0) else h.amount_micros end
               as reserved_micros
      from input i
      join api_keys k on k.id = i.key_id
      join accounts a on a.id = k.account_id
      left join models m on m.public_name = i.model_group
      left join holds h on h.key_id = i.key_id and h.call_id = i.call_id
      left join leases l on l.id = i.lease_id and l.key_id = i.key_id
      -- Priced at the reservation's moment: a hold's, else the lease's (its draws were priced at the versions in force
      -- when it was granted: docs/adr/0038), else the call's start.
      left join lateral price_version_at(coalesce(m.id, h.model_id), coalesce(h.created_at, l.created_at, i.recorded_at)) pv on true
    ),
    -- Each price version's rates, resolved once for the batch (its token rates read out of them once too).
    rates as (
      select x.price_version_id, x.price, x.cost,
             (x.price->>'input')::bigint as price_input, (x.price->>'output')::bigint as price_output,
             (x.price->>'cached')::bigint as price_cached, (x.price->>'cacheWrite')::bigint as price_cache_write,
             (x.price->>'reasoning')::bigint as price_reasoning,
             (x.cost->>'input')::bigint as cost_input, (x.cost->>'output')::bigint as cost_output,
             (x.cost->>'cached')::bigint as cost_cached, (x.cost->>'cacheWrite')::bigint as cost_cache_write,
             (x.cost->>'reasoning')::bigint as cost_reasoning
      from (select v.price_version_id, unit_rates(v.pv, 'price') as price, unit_rates(v.pv, 'cost') as cost
            from (select distinct on (e.price_version_id) e.price_version_id, e.pv
                  from enriched e where e.price_version_id is not null) v) x
    ),
    full_priced as (
      select e.*,
             case when e.status = 'failure' or e.price_version_id is null then 0
                  else price_call(e.pv, 'price', r.price, e.units, e.image_size, e.image_quality,
                                  token_charge(e.input_tokens, e.output_tokens, e.cached_tokens, e.cache_write_tokens,
                                               e.reasoning_tokens, r.price_input, r.price_output, r.price_cached,
                                               r.price_cache_write, r.price_reasoning)) end as full_revenue,
             -- An answer from the response cache costs the operator nothing at the provider.
             case when e.status = 'failure' or e.price_version_id is null or e.cache_hit or e.credential = 'byok' then 0
                  else price_call(e.pv, 'cost', r.cost, e.units, e.image_size, e.image_quality,
                                  token_charge(e.input_tokens, e.output_tokens, e.cached_tokens, e.cache_write_tokens,
                                               e.reasoning_tokens, r.cost_input, r.cost_output, r.cost_cached,
                                               r.cost_cache_write, r.cost_reasoning)) end as cost
      from enriched e left join rates r on r.price_version_id = e.price_version_id
    ),
    -- A cache hit is charged the model's cache-hit share of the full price (clause 60).
    priced as (
      select f.*,
             case when f.cache_hit then cache_hit_charge(f.full_revenue, (f.pv).cache_hit_bps)
                  when f.credential = 'byok' then byok_charge(f.full_revenue, f.account_id)
                  else f.full_revenue end
               as revenue
      from full_priced f
    ),
    -- A call whose id names no moment (not a UUIDv7) is claimed once in usage_calls, whatever started_at a replay
    -- carries (docs/adr/0020): only a claim won here is recorded and charged, so a second event of the call (a replay,
    -- a concurrent batch) changes nothing. In call id order, so claims of ordered ids fill the index's right edge.
    claimed as (
      insert into usage_calls (call_key, key_id, started_at)
      select call_key, key_id, started_at from priced
      where call_time is null and started_at >= v_kept_from and started_at <= v_latest
      order by call_key, key_id
      on conflict (call_key, key_id) do nothing
      returning call_key, key_id
    ),
    ins as (
      insert into usage_events (key_id, call_id, account_id, org, model_id, model_group, provider_model_id,
                                provider_model, status,
                                stream, prompt_tokens, completion_tokens, cached_tokens, reported_cost_micros,
                                started_at, ended_at, error_class, cost_micros, revenue_micros,
                                price_version_id, hold_id, lease_id, draw_micros, ledger_transaction_id, first_token_at,
                                kind, cache_write_tokens, reasoning_tokens, images, audio_ms, characters, image_size,
                                image_quality, overrun_micros, cache_hit, cache_saved_micros, pii_masked, safety_score,
                                credential)
      -- model_id only when no price version names the model (price_versions.model_id says it otherwise): a lean row.
      select key_id, call_id, account_id, org, case when price_version_id is null then model_id end, model_group,
             pm.pm_id, case when pm.pm_id is null then nullif(provider_model, '') end, status,
             coalesce(stream, false), input_tokens::integer, output_tokens::integer,
             -- A zero count, and the platform's credential, are stored as null (docs/adr/0033): readers take null for 0
             -- and for 'platform'.
             nullif(cached_tokens, 0)::integer, nullif(reported_cost_micros, 0),
             -- Its billing status is its outcome's (billing_status(status): docs/adr/0043), not stored.
             started_at, ended_at, error_class, cost, revenue, price_version_id, hold_id, lease_id, draw_micros,
             case when revenue > 0 then p_txn end,
             -- When a stream's first token reached the gateway (time to first token = this − started_at).
             case when first_token_at >= started_at and first_token_at <= ended_at then first_token_at end,
             kind, nullif(cache_write_tokens, 0)::integer, nullif(reasoning_tokens, 0)::integer,
             nullif((units->>'image')::integer, 0), nullif((units->>'audio')::bigint, 0),
             nullif((units->>'characters')::integer, 0), image_size, image_quality,
             nullif(greatest(0, revenue - coalesce(reserved_micros, 0)), 0),
             cache_hit, case when cache_hit then full_revenue - revenue end, pii_masked, safety_score,
             nullif(credential, 'platform')
      from priced p left join provider_ids pm on pm.pm_name = p.provider_model
      where (p.call_time is null and exists (select 1 from claimed c where c.key_id = p.key_id and c.call_key = p.call_key))
         -- A UUIDv7 call is claimed by its row (docs/adr/0032): the unique index (call_key(call_id), key_id) of the
         -- partition of its id's day is the ON CONFLICT arbiter, so a replay or a concurrent batch's copy records
         -- nothing. Unless it has a claim in usage_calls: settled before that (its row maybe on another day), or
         -- trimmed by an organization's retention (its claim left behind).
         or (p.call_time is not null and p.started_at >= v_kept_from and p.started_at <= v_latest
             and not (p.started_at at time zone 'utc')::date = any(v_dropped)
             and not exists (select 1 from usage_calls c where c.key_id = p.key_id and c.call_key = p.call_key))
      order by p.call_key, p.key_id
      on conflict do nothing
      returning key_id, call_id, account_id, revenue_micros, hold_id, lease_id, draw_micros, status, started_at,
                overrun_micros
    ),
    -- What the new calls drew from each lease comes off its reservation (never below zero); a charge above its draw
    -- comes off it too (clause 46).
    lease_use as (
      select i.lease_id, sum(i.draw_micros)::bigint as drawn, sum(i.revenue_micros)::bigint as charged,
             count(*)::int as calls, coalesce(sum(i.overrun_micros), 0)::bigint as overrun,
             least(sum(greatest(i.draw_micros, i.revenue_micros)), l.reserved_micros)::bigint as released,
             l.account_id, l.key_id, l.status, l.reserved_micros, l.created_at
      from ins i join leases l on l.id = i.lease_id
      group by i.lease_id, l.account_id, l.key_id, l.status, l.reserved_micros, l.created_at
    ),
    leases_updated as (
      update leases l set
        reserved_micros = l.reserved_micros - u.released,
        drawn_micros = l.drawn_micros + u.drawn,
        charged_micros = l.charged_micros + u.charged,
        calls = l.calls + u.calls,
        overrun_micros = l.overrun_micros + u.overrun,
        status = case when l.status = 'closing' and l.reserved_micros = u.released then 'closed' else l.status end,
        closed_at = case when l.status = 'closing' and l.reserved_micros = u.released then tollgate_now() else l.closed_at end
      from lease_use u where l.id = u.lease_id
      returning 1
    ),
    closed as (
      update holds h set status = case when ins.status = 'failure' then 'released' else 'settled' end,
                         closed_at = tollgate_now(), close_reason = 'usage_event'
      from ins
      where h.id = ins.hold_id and h.status = 'open'
      returning h.id, h.account_id, h.key_id, h.amount_micros, h.status, h.created_at
    ),
    charged as (
      select * from ins where revenue_micros > 0
    ),
    txn as (
      insert into ledger_transactions (id, kind, idempotency_key, reason)
      select p_txn, 'charge', 'usage:' || p_txn,
             'Usage: ' || count(*) || case when count(*) = 1 then ' call' else ' calls' end
      from charged having count(*) > 0
      returning id
    ),
    entries as (
      insert into ledger_entries (transaction_id, account_id, amount_micros)
      select txn.id, x.account_id, x.amount from txn cross join lateral (
        select account_id, -sum(revenue_micros)::bigint as amount from charged group by account_id
        union all
        select (select id from accounts where code = 'revenue'), sum(revenue_micros)::bigint from charged
      ) x
      returning 1
    ),
    -- Each counter delta with the UTC moment its money was reserved (its hold's or its lease's, else the call's
    -- own start), and what it charged or released. A failed call gives its request back to the plan's daily count
    -- (request_delta); a call served from a lease counts its request when it is settled.
    deltas as (
      select i.account_id, i.key_id, i.revenue_micros as delta, i.revenue_micros as charged, 0::bigint as released,
             case when i.lease_id is not null and i.status <> 'failure' then 1 else 0 end as request_delta,
             coalesce(h.created_at, l.created_at, i.started_at) as reserved_at
      from ins i left join holds h on h.id = i.hold_id left join leases l on l.id = i.lease_id
      union all
      select account_id, key_id, -amount_micros, 0, amount_micros, case when status = 'released' then -1 else 0 end,
             created_at
      from closed
      union all
      select account_id, key_id, -released, 0, released, 0, created_at from lease_use
    ),
    -- One row per account: its charges, its releases and each counter's move in the account's own windows.
    per_account as (
      select d.account_id, sum(d.charged) as revenue, sum(d.released) as released,
             sum(window_used(d.delta, a.budget_day, d.reserved_at, 'day')) as day_used,
             sum(window_used(d.request_delta, a.budget_day, d.reserved_at, 'day')) as day_requests,
             sum(window_used(d.delta, a.budget_month, d.reserved_at, 'month')) as month_used
      from deltas d join accounts a on a.id = d.account_id
      group by d.account_id
    ),
    accounts_updated as (
      update accounts a set
        balance_micros = a.balance_micros - p.revenue,
        held_micros = a.held_micros - p.released,
        day_used_micros = counter_moved(a.day_used_micros, p.day_used),
        day_requests = counter_moved(a.day_requests, p.day_requests),
        month_used_micros = counter_moved(a.month_used_micros, p.month_used)
      from per_account p where a.id = p.account_id
      returning a.id, a.balance_micros - a.held_micros as available
    ),
    -- The keys' deltas summed per key and UTC day first (a day's moment stands for its day and month): a key's
    -- counters move by the same amounts, from a hundred rows instead of a thousand.
    keys_updated as (
      select move_key_windows(array_agg(d.key_id), array_agg(d.delta), array_agg(d.reserved_at)) as moved
      from (select d.key_id, sum(d.delta)::bigint as delta, min(d.reserved_at) as reserved_at
            from deltas d group by d.key_id, budget_window(d.reserved_at, 'day')) d
    )
    select (select count(*)::int from ins),
           (select coalesce(sum(revenue_micros), 0)::bigint from ins),
           (select count(*)::int from input i where not exists (select 1 from api_keys k where k.id = i.key_id)),
           (select count(*)::int from ins where ins.overrun_micros > 0),
           (select coalesce(sum(ins.overrun_micros), 0)::bigint from ins),
           (select coalesce(jsonb_agg(jsonb_build_object('leaseId', u.lease_id, 'overrunMicros', u.overrun)
                                      order by u.lease_id), '[]'::jsonb)
            from lease_use u where u.overrun > 0),
           (select coalesce(array_agg(k.id order by k.id), '{}')
            from accounts_updated au join api_keys k on k.account_id = au.id
            where au.available < 0 and k.status = 'active'),
           -- Outside the horizon with no claim: a call this batch would have charged as new (one with a claim is a
           -- replay or an upgrade, as any other). Scalar look-ups: an index probe per event, never a join over
           -- usage_calls or usage_events.
           (select count(*)::int from priced p
            where (not (p.started_at >= v_kept_from and p.started_at <= v_latest)
                   or (p.call_time is not null and (p.started_at at time zone 'utc')::date = any(v_dropped)))
              and (select c.started_at from usage_calls c where c.key_id = p.key_id and c.call_key = p.call_key) is null)
    -- keys_updated is a SELECT (move_key_windows updates the keys): only a value the statement reads makes it run.
    from (select (select count(*) from entries) + (select count(*) from accounts_updated)
                 + (select sum(moved) from keys_updated) + (select count(*) from leases_updated) as touched) t
    where t.touched >= 0;
end;
$$;
