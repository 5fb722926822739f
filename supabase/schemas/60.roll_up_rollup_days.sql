-- The statement triggers that keep usage_rollup_days equal to usage_rollups' sums per UTC day and billing status (one
-- upsert per statement, in its transaction): an insert adds its rows, a delete takes them out, an update does both,
-- and a truncate empties it. The settlement's roll-up (lib/settlement/run.ts, rollUpDay) deletes a day's rows of the
-- accounts it rolls up and inserts them again. Rows in (day, billing status) order: two statements meeting the same rows
-- take them in one order.
create or replace function public.roll_up_rollup_days() returns trigger
language plpgsql
set search_path = public
as $$
declare
  v_moved usage_rollup_days[] := '{}';
begin
  if tg_op = 'TRUNCATE' then
    delete from usage_rollup_days;
    return null;
  end if;
  if tg_op <> 'DELETE' then
    v_moved := v_moved || array(
      select row(n.day, n.billing_status, sum(n.requests), sum(n.revenue_micros))::usage_rollup_days
      from new_rows n group by n.day, n.billing_status);
  end if;
  if tg_op <> 'INSERT' then
    v_moved := v_moved || array(
      select row(o.day, o.billing_status, -sum(o.requests), -sum(o.revenue_micros))::usage_rollup_days
      from old_rows o group by o.day, o.billing_status);
  end if;
  insert into usage_rollup_days as t (day, billing_status, requests, revenue_micros)
  select m.day, m.billing_status, sum(m.requests), sum(m.revenue_micros)
  from unnest(v_moved) m
  group by m.day, m.billing_status
  order by m.day, m.billing_status
  on conflict (day, billing_status) do update
    set requests = t.requests + excluded.requests, revenue_micros = t.revenue_micros + excluded.revenue_micros;
  return null;
end;
$$;
