-- A reservation is an upper bound of its charge (billing contract, clauses 44–46).
-- Route ↔ unit: a model is served only on the routes whose unit its price charges (billed_kinds), unless an admin
-- marks it free on purpose.
alter table public.models add column free boolean not null default false;

-- A charge above its reservation (its lease draw or its hold) is an anomaly: recorded on the call, summed on its lease,
-- counted by a metric and alarmed (the "overrun" alert metric, and a platform rule on by default).
alter table public.usage_events add column overrun_micros bigint not null default 0,
  add constraint usage_events_overrun_micros_check check (overrun_micros >= 0);
create index usage_events_overrun_idx on public.usage_events (started_at desc) where overrun_micros > 0;
alter table public.leases add column overrun_micros bigint not null default 0,
  add constraint leases_overrun_micros_check check (overrun_micros >= 0);

alter table public.alert_rules drop constraint alert_rules_metric_check,
  add constraint alert_rules_metric_check check (metric in ('spend_rate', 'error_rate', 'overrun'));
insert into public.alert_rules (name, scope, metric, window_minutes, warn_threshold, critical_threshold, min_calls)
values ('Charges above their reservation', 'platform', 'overrun', 60, 1, 1000000, 1);

-- place_hold learns the call's kind (its route), to refuse a model its price does not bill there.
drop function public.place_hold(uuid, text, text, text, integer, integer, integer, text[], integer, bigint, integer,
                                text, text);
-- settle_usage answers the overruns it recorded and the keys whose accounts it left in deficit.
drop function public.settle_usage(jsonb, uuid);
