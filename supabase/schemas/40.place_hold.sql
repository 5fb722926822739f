-- Places a hold for a call in one statement: the key's budgets, then its organization member's caps (an
-- organization key), then the account's balance and budgets, each checked in the same conditional UPDATE that
-- reserves the amount (no read-then-write). The key spends from the account it names (its user's own or an
-- organization's: key_spends refuses a key whose organization or membership no longer lets it spend). A refusal
-- raises (SQLSTATE TG402 insufficient balance, TG429 budget) so nothing of the statement persists.
-- The same (key, call id) with the same nonce returns the existing hold; with another nonce it is refused, and so
-- is a call whose usage was already settled.
-- The account's budgets are its own, else its plan's (plan_of); the plan's requests per day count every call held
-- (a failed one is given back by settle_usage). The amount is the worst case over what the call may reach
-- (price_worst_case: n choices (p_choices) of the output cap, and what else it asks for (p_units, keyed by the
-- contract's 'asked' unit keys: images, at their size and quality, the audio's length, characters)), priced
-- by the requested model and by each operator-configured fallback group (p_fallback_models), whichever costs
-- most, since a call is charged at the price of the group that served it (billing contract, clause 20). Each of them
-- must bill the call's kind (p_kind, its route: billed_kinds, clause 44), else the call is refused (TG403). The prompt
-- is counted at most at each model's context window (clause 3: a provider refuses a longer prompt).
create or replace function public.place_hold(
  p_key_id uuid, p_call_id text, p_nonce text, p_model text, p_prompt_tokens integer, p_max_output_tokens integer,
  p_choices integer, p_fallback_models text[], p_units jsonb default '{}', p_image_size text default null,
  p_image_quality text default null, p_kind text default 'chat'
) returns table (hold_id uuid, amount_micros bigint, outcome text, price_version_id uuid, max_output_tokens integer,
                available_micros bigint)
language plpgsql as $$
declare
  v_now timestamptz := tollgate_now();
  v_key record;
  v_model record;
  v_price public.price_versions;
  v_account record;
  v_amount bigint;
  v_max_out integer;
  v_hold uuid;
  v_existing record;
  v_available bigint;
  v_fallback record;
begin
  -- Prices are read at v_now: no version made meanwhile may take effect at or before it (docs/adr/0038).
  perform lock_price_book(false);
  select k.id, k.user_id, k.status, a.id as account_id, k.allowed_models as key_models,
         p.allowed_models as plan_models, a.allowed_models as account_models, a.organization_id,
         a.seats_due_micros, o.status as organization_status, om.role as member_role,
         p.id as plan_id, p.name as plan_name, p.requests_per_day
  into v_key
  from api_keys k join accounts a on a.id = k.account_id join users u on u.id = k.user_id
  left join plans p on p.id = plan_of(a.organization_id, a.plan_id, u.plan_id)
  left join organizations o on o.id = a.organization_id
  left join organization_members om on om.organization_id = a.organization_id and om.user_id = k.user_id
  where k.id = p_key_id;
  if not found or v_key.status <> 'active' then
    raise exception 'API key is not active' using errcode = 'TG401';
  end if;
  perform key_spends(v_key.organization_id, v_key.organization_status, v_key.member_role, v_key.seats_due_micros);
  select m.id, m.max_output_tokens, m.enabled, m.free, m.context_window into v_model
  from models m where m.public_name = p_model;
  if not found or not v_model.enabled
     or not model_allowed(p_model, v_key.key_models, v_key.plan_models, v_key.account_models) then
    raise exception 'Model % is not available to this key', p_model using errcode = 'TG403';
  end if;
  select pv.* into v_price from price_version_at(v_model.id, tollgate_now()) pv;
  if not found then
    raise exception 'Model % has no price yet', p_model using errcode = 'TG403';
  end if;
  if not coalesce(p_kind, '') = any(billed_kinds(v_price, v_model.free)) then
    raise exception 'Model % is not sold for % calls: its price charges nothing for what that route reports',
      p_model, coalesce(p_kind, 'unknown') using errcode = 'TG403';
  end if;
  if p_choices is null or p_choices < 1 then
    raise exception 'choices must be at least 1' using errcode = 'TG422';
  end if;
  if not coalesce(counts_valid(jsonb_build_array(p_units), true), false) then
    raise exception 'units must map what a call asks for (%) to whole numbers',
      (select string_agg(d.key, ', ' order by d.position) from price_unit_contract d where d.reserve = 'asked')
      using errcode = 'TG422';
  end if;
  v_max_out := least(coalesce(p_max_output_tokens, v_model.max_output_tokens), v_model.max_output_tokens);
  v_amount := price_worst_case(v_price, p_units || jsonb_build_object(
                                 'input', counted_prompt(p_prompt_tokens, v_model.context_window, p_kind),
                                 'output', v_max_out::bigint * p_choices),
                               p_image_size, p_image_quality);
  -- A fallback the price book cannot price would serve the call free: refuse instead.
  for v_fallback in
    select f.name, m.id as model_id, m.max_output_tokens, m.context_window, m.free, pv as price
    from unnest(coalesce(p_fallback_models, '{}')) as f(name)
    left join models m on m.public_name = f.name
    left join lateral price_version_at(m.id, tollgate_now()) pv on true
    where f.name <> p_model
  loop
    if (v_fallback.price).id is null then
      raise exception 'Model % (a fallback of %) has no price, so calls that may reach it are not served',
        v_fallback.name, p_model using errcode = 'TG403';
    end if;
    if not coalesce(p_kind, '') = any(billed_kinds(v_fallback.price, v_fallback.free)) then
      raise exception 'Model % (a fallback of %) is not sold for % calls, so calls that may reach it are not served',
        v_fallback.name, p_model, coalesce(p_kind, 'unknown') using errcode = 'TG403';
    end if;
    v_amount := greatest(v_amount, price_worst_case(
      v_fallback.price, p_units || jsonb_build_object(
        'input', counted_prompt(p_prompt_tokens, v_fallback.context_window, p_kind),
        'output', least(coalesce(p_max_output_tokens, v_fallback.max_output_tokens),
                        v_fallback.max_output_tokens)::bigint * p_choices),
      p_image_size, p_image_quality));
  end loop;

  -- A call already settled holds nothing: its gateway reported it failed when it stopped waiting for this very hold
  -- (a timeout), and no later usage event would release a hold placed after that. The key's row first (the lock
  -- reserve_on_key takes below, and settle_usage takes first): a batch settling the call meanwhile has committed its
  -- claim (a UUIDv7 call's row in its day, docs/adr/0032) before the check reads, or sees this hold and releases it.
  perform 1 from api_keys k where k.id = p_key_id for no key update;
  if exists (select 1 from usage_calls c where c.call_key = call_key(p_call_id) and c.key_id = p_key_id)
     or exists (select 1 from usage_call(p_key_id, p_call_id)) then
    raise exception 'Call id % was already settled', p_call_id using errcode = 'TG409';
  end if;
  insert into holds as h (key_id, call_id, request_nonce, account_id, user_id, model_id, price_version_id,
                          prompt_tokens, max_output_tokens, amount_micros, created_at)
  values (p_key_id, p_call_id, p_nonce, v_key.account_id, v_key.user_id, v_model.id, v_price.id,
          p_prompt_tokens, v_max_out, v_amount, tollgate_now())
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

  -- The key's budgets, then the member's caps, then the account's balance, budgets and the plan's requests per day (budget_room, window_used).
  if not reserve_on_key(p_key_id, v_amount, v_now, true) then
    perform refuse('key', v_amount, null, null, k.daily_budget_micros, k.day_used_micros, k.budget_day,
                   k.monthly_budget_micros, k.month_used_micros, k.budget_month)
    from api_keys k where k.id = p_key_id;
  end if;
  if not reserve_on_member(v_key.organization_id, v_key.user_id, v_amount, v_now, true) then
    perform refuse('member', v_amount, null, null, m.daily_cap_micros, m.day_used_micros, m.budget_day,
                   m.monthly_cap_micros, m.month_used_micros, m.budget_month)
    from organization_members m where m.organization_id = v_key.organization_id and m.user_id = v_key.user_id;
  end if;

  update accounts a set
    held_micros = a.held_micros + v_amount,
    budget_day = budget_window(v_now, 'day'),
    day_used_micros = window_used(a.day_used_micros, a.budget_day, v_now, 'day') + v_amount,
    day_requests = window_used(a.day_requests, a.budget_day, v_now, 'day') + 1,
    budget_month = budget_window(v_now, 'month'),
    month_used_micros = window_used(a.month_used_micros, a.budget_month, v_now, 'month') + v_amount
  from (select coalesce(a2.daily_budget_micros, p.daily_budget_micros) as daily_budget,
               coalesce(a2.monthly_budget_micros, p.monthly_budget_micros) as monthly_budget
        from accounts a2 left join plans p on p.id = v_key.plan_id where a2.id = v_key.account_id) b
  where a.id = v_key.account_id
    and a.balance_micros - a.held_micros >= v_amount
    and v_amount <= coalesce(budget_room(b.daily_budget, a.day_used_micros, a.budget_day,
                                         b.monthly_budget, a.month_used_micros, a.budget_month, v_now), v_amount)
    and (v_key.requests_per_day is null
         or window_used(a.day_requests, a.budget_day, v_now, 'day') + 1 <= v_key.requests_per_day)
  returning a.balance_micros - a.held_micros into v_available;
  if not found then
    select a.balance_micros, a.held_micros, a.day_used_micros, a.budget_day, a.month_used_micros, a.budget_month,
           coalesce(a.daily_budget_micros, p.daily_budget_micros) as daily_budget_micros,
           coalesce(a.monthly_budget_micros, p.monthly_budget_micros) as monthly_budget_micros,
           window_used(a.day_requests, a.budget_day, v_now, 'day') as day_requests
    into v_account from accounts a left join plans p on p.id = v_key.plan_id where a.id = v_key.account_id;
    if v_key.requests_per_day is not null and v_account.day_requests + 1 > v_key.requests_per_day then
      raise exception 'plan request limit reached' using errcode = 'TG429', detail = json_build_object(
        'scope', 'plan', 'plan', v_key.plan_name, 'requestsPerDay', v_key.requests_per_day,
        'dayRequests', v_account.day_requests)::text;
    end if;
    perform refuse(case when v_account.balance_micros - v_account.held_micros < v_amount then 'balance'
                        else 'account' end,
                   v_amount, v_account.balance_micros, v_account.held_micros,
                   v_account.daily_budget_micros, v_account.day_used_micros, v_account.budget_day,
                   v_account.monthly_budget_micros, v_account.month_used_micros, v_account.budget_month);
  end if;

  return query select v_hold, v_amount, 'placed'::text, v_price.id, v_max_out, v_available;
end;
$$;
