-- The BYOK fee's per-request part and BYOK in analytics (issue 29, billing contract clause 62).

-- A plan's BYOK fee may add a fixed amount per call to its share of the price (plans.byok_fee_bps): integer micro-USD,
-- 0 by default (the share alone, as before). byok_charge caps the sum at the call's full price.
alter table public.plans
  add column byok_fee_request_micros bigint not null default 0,
  add constraint plans_byok_fee_request_micros_check check (byok_fee_request_micros >= 0);

-- Calls served with the owner's own provider credentials (usage_events.credential 'byok') and what they were charged
-- (the BYOK fee), per usage_hourly row, kept by roll_up_usage_delta as cache_hits are.
alter table public.usage_hourly
  add column byok_calls bigint not null default 0,
  add column byok_revenue_micros bigint not null default 0;

-- The hours already rolled up count the BYOK calls recorded before these columns.
update public.usage_hourly h set byok_calls = b.calls, byok_revenue_micros = b.revenue
from (select date_trunc('hour', e.started_at at time zone 'utc') as hour, e.model_group, e.kind, e.status,
             e.billing_status, count(*) as calls, sum(e.revenue_micros) as revenue
      from public.usage_events e where e.credential = 'byok'
      group by 1, 2, 3, 4, 5) b
where h.hour = b.hour and h.model_group = b.model_group and h.kind = b.kind and h.status = b.status
  and h.billing_status = b.billing_status;
