-- Review fixes to the money functions (see docs/billing-contract.md, clauses 20 and 21):
-- - place_hold sizes a hold for n choices and for the most expensive operator-configured fallback group;
-- - settle_usage charges each call at the price of the model group that served it.
-- The signature of place_hold changes, so the old one is dropped first.

drop function public.place_hold(uuid, text, text, text, integer, integer);

-- Places a hold for a call in one statement: the key's budgets, then the account's balance and budgets,
-- each checked in the same conditional UPDATE that reserves the amount (no read-then-write). A refusal
-- raises (SQLSTATE TG402 insufficient balance, TG429 budget) so nothing of the statement persists.
-- The same (key, call id) with the same nonce returns the existing hold; with another nonce it is refused.
-- The amount is the worst case over what the call may reach: n choices (p_choices) of the output cap, priced
-- by the requested model and by each operator-configured fallback group (p_fallback_models), whichever costs
-- most, since a call is charged at the price of the group that served it (billing contract, clause 20).
create or replace function public.place_hold(
  p_key_id uuid, p_call_id text, p_nonce text, p_model text, p_prompt_tokens integer, p_max_output_tokens integer,
  p_choices integer, p_fallback_models text[]
) returns table (hold_id uuid, amount_micros bigint, outcome text, price_version_id uuid, max_output_tokens integer,
                available_micros bigint)
language plpgsql as $$
declare
  v_today date := (now() at time zone 'utc')::date;
  v_month date := date_trunc('month', now() at time zone 'utc')::date;
  v_key record;
  v_model record;
  v_price record;
  v_account record;
  v_amount bigint;
  v_max_out integer;
  v_hold uuid;
  v_existing record;
  v_available bigint;
  v_fallback record;
begin
  select k.id, k.user_id, k.status, k.allowed_models, a.id as account_id into v_key
  from api_keys k join accounts a on a.owner_user_id = k.user_id
  where k.id = p_key_id;
  if not found or v_key.status <> 'active' then
    raise exception 'API key is not active' using errcode = 'TG401';
  end if;
  select m.id, m.max_output_tokens, m.enabled into v_model from models m where m.public_name = p_model;
  if not found or not v_model.enabled
     or (cardinality(v_key.allowed_models) > 0 and not p_model = any(v_key.allowed_models)) then
    raise exception 'Model % is not available to this key', p_model using errcode = 'TG403';
  end if;
  select pv.* into v_price from price_versions pv
  where pv.model_id = v_model.id and pv.effective_from <= now()
  order by pv.effective_from desc limit 1;
  if not found then
    raise exception 'Model % has no price yet', p_model using errcode = 'TG403';
  end if;
  if p_choices is null or p_choices < 1 then
    raise exception 'choices must be at least 1' using errcode = 'TG422';
  end if;
  v_max_out := least(coalesce(p_max_output_tokens, v_model.max_output_tokens), v_model.max_output_tokens);
  v_amount := price_tokens(p_prompt_tokens, v_max_out::bigint * p_choices, 0, v_price.input_price_micros,
                           v_price.output_price_micros, null);
  -- A fallback the price book cannot price would serve the call free: refuse instead.
  for v_fallback in
    select f.name, m.id as model_id, m.max_output_tokens, pv.input_price_micros, pv.output_price_micros
    from unnest(coalesce(p_fallback_models, '{}')) as f(name)
    left join models m on m.public_name = f.name
    left join lateral (
      select p.* from price_versions p where p.model_id = m.id and p.effective_from <= now()
      order by p.effective_from desc limit 1
    ) pv on true
    where f.name <> p_model
  loop
    if v_fallback.input_price_micros is null then
      raise exception 'Model % (a fallback of %) has no price, so calls that may reach it are not served',
        v_fallback.name, p_model using errcode = 'TG403';
    end if;
    v_amount := greatest(v_amount, price_tokens(
      p_prompt_tokens,
      least(coalesce(p_max_output_tokens, v_fallback.max_output_tokens), v_fallback.max_output_tokens)::bigint * p_choices,
      0, v_fallback.input_price_micros, v_fallback.output_price_micros, null));
  end loop;

  insert into holds as h (key_id, call_id, request_nonce, account_id, user_id, model_id, price_version_id,
                          prompt_tokens, max_output_tokens, amount_micros)
  values (p_key_id, p_call_id, p_nonce, v_key.account_id, v_key.user_id, v_model.id, v_price.id,
          p_prompt_tokens, v_max_out, v_amount)
  on conflict (key_id, call_id) do nothing
  returning h.id into v_hold;
  if v_hold is null then
    select h.id, h.request_nonce, h.amount_micros, h.price_version_id, h.max_output_tokens into v_existing
    from holds h where h.key_id = p_key_id and h.call_id = p_call_id;
    if v_existing.request_nonce = p_nonce then
      return query select v_existing.id, v_existing.amount_micros, 'replayed'::text, v_existing.price_version_id,
                          v_existing.max_output_tokens,
                          (select a.balance_micros - a.held_micros from accounts a where a.id = v_key.account_id);
      return;
    end if;
    raise exception 'Call id % was already used with this key', p_call_id using errcode = 'TG409';
  end if;

  update api_keys k set
    budget_day = v_today,
    day_used_micros = (case when k.budget_day = v_today then k.day_used_micros else 0 end) + v_amount,
    budget_month = v_month,
    month_used_micros = (case when k.budget_month = v_month then k.month_used_micros else 0 end) + v_amount
  where k.id = p_key_id
    and (k.daily_budget_micros is null
         or (case when k.budget_day = v_today then k.day_used_micros else 0 end) + v_amount <= k.daily_budget_micros)
    and (k.monthly_budget_micros is null
         or (case when k.budget_month = v_month then k.month_used_micros else 0 end) + v_amount <= k.monthly_budget_micros);
  if not found then
    select k.daily_budget_micros, k.monthly_budget_micros,
           case when k.budget_day = v_today then k.day_used_micros else 0 end as day_used,
           case when k.budget_month = v_month then k.month_used_micros else 0 end as month_used
    into v_existing from api_keys k where k.id = p_key_id;
    raise exception 'key budget exceeded' using errcode = 'TG429', detail = json_build_object(
      'scope', 'key', 'needed', v_amount, 'dailyBudget', v_existing.daily_budget_micros,
      'monthlyBudget', v_existing.monthly_budget_micros, 'dayUsed', v_existing.day_used,
      'monthUsed', v_existing.month_used)::text;
  end if;

  update accounts a set
    held_micros = a.held_micros + v_amount,
    budget_day = v_today,
    day_used_micros = (case when a.budget_day = v_today then a.day_used_micros else 0 end) + v_amount,
    budget_month = v_month,
    month_used_micros = (case when a.budget_month = v_month then a.month_used_micros else 0 end) + v_amount
  where a.id = v_key.account_id
    and a.balance_micros - a.held_micros >= v_amount
    and (a.daily_budget_micros is null
         or (case when a.budget_day = v_today then a.day_used_micros else 0 end) + v_amount <= a.daily_budget_micros)
    and (a.monthly_budget_micros is null
         or (case when a.budget_month = v_month then a.month_used_micros else 0 end) + v_amount <= a.monthly_budget_micros)
  returning a.balance_micros - a.held_micros into v_available;
  if not found then
    select a.balance_micros, a.held_micros, a.daily_budget_micros, a.monthly_budget_micros,
           case when a.budget_day = v_today then a.day_used_micros else 0 end as day_used,
           case when a.budget_month = v_month then a.month_used_micros else 0 end as month_used
    into v_account from accounts a where a.id = v_key.account_id;
    if v_account.balance_micros - v_account.held_micros < v_amount then
      raise exception 'insufficient balance' using errcode = 'TG402', detail = json_build_object(
        'needed', v_amount, 'balance', v_account.balance_micros, 'held', v_account.held_micros)::text;
    end if;
    raise exception 'account budget exceeded' using errcode = 'TG429', detail = json_build_object(
      'scope', 'account', 'needed', v_amount, 'dailyBudget', v_account.daily_budget_micros,
      'monthlyBudget', v_account.monthly_budget_micros, 'dayUsed', v_account.day_used,
      'monthUsed', v_account.month_used)::text;
  end if;

  return query select v_hold, v_amount, 'placed'::text, v_price.id, v_max_out, v_available;
end;
$$;

-- Settles a batch of usage events in one statement (called by lib/billing/settle.ts; the contract's
-- clauses 1, 6–12, 20): a usage row per new (key, call id), each charged at the price of the model group that
-- served it (a fallback included), in the version in force when its hold was placed (else when the call
-- started; a group missing from the catalog is priced as the model the hold was for), the unspent rest released, one balanced ledger
-- transaction for the batch (an entry per account), and the accounts' and keys' usage counters. Rows are
-- locked keys first, then accounts, in id order, as place_hold does: no deadlock between holds and batches.
-- FOR NO KEY UPDATE, not FOR UPDATE: it must not queue behind the KEY SHARE locks that inserting a hold takes.
create or replace function public.settle_usage(p_events jsonb, p_txn uuid)
returns table (inserted_count integer, charged_micros bigint, unknown_key_events integer)
language plpgsql as $$
#variable_conflict use_column
declare
  v_accounts uuid[];
begin
  perform 1 from api_keys k
  where k.id in (select (e->>'key_id')::uuid from jsonb_array_elements(p_events) e)
  order by k.id for no key update;
  select array_agg(distinct a.id) into v_accounts
  from api_keys k join accounts a on a.owner_user_id = k.user_id
  where k.id in (select (e->>'key_id')::uuid from jsonb_array_elements(p_events) e);
  if cardinality(v_accounts) > 1 then
    perform 1 from accounts where id = any(v_accounts) order by id for no key update;
  end if;
  return query
    with input as (
      select * from jsonb_to_recordset(p_events) as e(
        call_id text, key_id uuid, model_group text, provider_model text, status text, stream boolean,
        prompt_tokens integer, completion_tokens integer, cached_tokens integer, reported_cost_micros bigint,
        started_at timestamptz, ended_at timestamptz, error_class text)
    ),
    enriched as (
      select i.*, k.user_id, a.id as account_id, coalesce(m.id, h.model_id) as model_id,
             h.id as hold_id, h.status as hold_status, h.amount_micros as hold_amount, h.created_at as hold_created_at,
             pv.id as price_version_id,
             case when i.status = 'failure' or pv.id is null then 0
                  else price_tokens(i.prompt_tokens, i.completion_tokens, i.cached_tokens,
                                    pv.input_price_micros, pv.output_price_micros, pv.cached_input_price_micros) end as revenue,
             case when i.status = 'failure' or pv.id is null then 0
                  else price_tokens(i.prompt_tokens, i.completion_tokens, i.cached_tokens,
                                    pv.input_cost_micros, pv.output_cost_micros, pv.cached_input_cost_micros) end as cost
      from input i
      join api_keys k on k.id = i.key_id
      join accounts a on a.owner_user_id = k.user_id
      left join models m on m.public_name = i.model_group
      left join holds h on h.key_id = i.key_id and h.call_id = i.call_id
      left join lateral (
        select p.* from price_versions p
        where p.model_id = coalesce(m.id, h.model_id) and p.effective_from <= coalesce(h.created_at, i.started_at)
        order by p.effective_from desc
        limit 1
      ) pv on true
    ),
    ins as (
      insert into usage_events (key_id, call_id, user_id, account_id, model_id, model_group, provider_model, status,
                                stream, prompt_tokens, completion_tokens, cached_tokens, reported_cost_micros,
                                started_at, ended_at, error_class, billing_status, cost_micros, revenue_micros,
                                price_version_id, hold_id, ledger_transaction_id)
      select key_id, call_id, user_id, account_id, model_id, model_group, coalesce(provider_model, ''), status,
             coalesce(stream, false), prompt_tokens, completion_tokens, cached_tokens, coalesce(reported_cost_micros, 0),
             started_at, ended_at, error_class,
             case status when 'success' then 'exact' when 'cut' then 'estimated' else 'waived' end,
             cost, revenue, price_version_id, hold_id,
             case when revenue > 0 then p_txn end
      from enriched
      on conflict (key_id, call_id) do nothing
      returning key_id, call_id, account_id, revenue_micros, hold_id, status, started_at
    ),
    closed as (
      update holds h set status = case when ins.status = 'failure' then 'released' else 'settled' end,
                         closed_at = now(), close_reason = 'usage_event'
      from ins
      where h.id = ins.hold_id and h.status = 'open'
      returning h.id, h.account_id, h.key_id, h.amount_micros, (h.created_at at time zone 'utc') as created_utc
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
    per_account as (
      select account_id, sum(revenue) as revenue, sum(released) as released,
             sum(day_delta) as day_delta, sum(month_delta) as month_delta
      from (
        select account_id, revenue_micros as revenue, 0::bigint as released,
               revenue_micros as day_delta, revenue_micros as month_delta, started_at
        from ins
        union all
        select account_id, 0, amount_micros, -amount_micros, -amount_micros, created_utc from closed
      ) x
      group by account_id
    ),
    accounts_updated as (
      update accounts a set
        balance_micros = a.balance_micros - p.revenue,
        held_micros = a.held_micros - p.released,
        day_used_micros = greatest(0, a.day_used_micros + p.day_delta),
        month_used_micros = greatest(0, a.month_used_micros + p.month_delta)
      from per_account p where a.id = p.account_id
      returning 1
    ),
    per_key as (
      select key_id, sum(delta) as delta from (
        select key_id, revenue_micros as delta from ins
        union all
        select key_id, -amount_micros from closed
      ) x group by key_id
    ),
    keys_updated as (
      update api_keys k set
        day_used_micros = greatest(0, k.day_used_micros + p.delta),
        month_used_micros = greatest(0, k.month_used_micros + p.delta)
      from per_key p where k.id = p.key_id
      returning 1
    )
    select (select count(*)::int from ins),
           (select coalesce(sum(revenue_micros), 0)::bigint from ins),
           (select count(*)::int from input i where not exists (select 1 from api_keys k where k.id = i.key_id))
    from (select (select count(*) from entries) + (select count(*) from accounts_updated)
                 + (select count(*) from keys_updated) as touched) t;
end;
$$;
