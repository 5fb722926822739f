-- The statement triggers that keep usage_rollup_days equal to usage_rollups' sums per UTC day, model group and billing
-- status (one upsert per statement, in its transaction): an insert adds its rows, a delete takes them out, an update
-- does both, and a truncate empties it. The settlement's roll-up (lib/settlement/run.ts, rollUpDay) deletes a day's rows
-- of the accounts it rolls up and inserts them again. Rows in primary key order: two statements meeting the same rows
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
      select row(n.day, n.model_group, n.billing_status, sum(n.requests), sum(n.tokens_in), sum(n.tokens_out),
                 sum(n.cost_micros), sum(n.revenue_micros))::usage_rollup_days
      from new_rows n group by n.day, n.model_group, n.billing_status);
  end if;
  if tg_op <> 'INSERT' then
    v_moved := v_moved || array(
      select row(o.day, o.model_group, o.billing_status, -sum(o.requests), -sum(o.tokens_in), -sum(o.tokens_out),
                 -sum(o.cost_micros), -sum(o.revenue_micros))::usage_rollup_days
      from old_rows o group by o.day, o.model_group, o.billing_status);
  end if;
  insert into usage_rollup_days as t (day, model_group, billing_status, requests, tokens_in, tokens_out, cost_micros,
                                      revenue_micros)
  select m.day, m.model_group, m.billing_status, sum(m.requests), sum(m.tokens_in), sum(m.tokens_out),
         sum(m.cost_micros), sum(m.revenue_micros)
  from unnest(v_moved) m
  group by m.day, m.model_group, m.billing_status
  order by m.day, m.model_group, m.billing_status
  on conflict (day, model_group, billing_status) do update
    set requests = t.requests + excluded.requests, tokens_in = t.tokens_in + excluded.tokens_in,
        tokens_out = t.tokens_out + excluded.tokens_out, cost_micros = t.cost_micros + excluded.cost_micros,
        revenue_micros = t.revenue_micros + excluded.revenue_micros;
  return null;
end;
$$;
