-- usage_owner_activity's row for a period now holds the days of the period before it too (bits 0–31: the previous
-- period's days, bits 32–63: its own), as roll_up_owner_days writes it from 20261205191808: any range of up to 33
-- days reads one row per owner, counted without removing duplicates (docs/adr/0024). Rebuilt from usage_owner_days
-- with usage_events locked against writes, so no batch is missed.
lock table public.usage_events in share mode;
delete from public.usage_owner_activity;
insert into public.usage_owner_activity (owner_kind, period, owner_id, days)
select o.owner_kind, b.period, o.owner_id, bit_or(b.bit)
from public.usage_owner_days o
cross join lateral (values ((o.day - date '1970-01-01') >> 5, 1::bigint << (32 + ((o.day - date '1970-01-01') & 31))),
                           (((o.day - date '1970-01-01') >> 5) + 1, 1::bigint << ((o.day - date '1970-01-01') & 31)))
  as b(period, bit)
group by 1, 2, 3;
comment on column public.usage_owner_activity.days is
  'bit i (0-31): a call on UTC day 32 * (period - 1) + i; bit 32 + i: on day 32 * period + i (days from 1970-01-01)';
