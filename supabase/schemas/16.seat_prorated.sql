-- A seat's fee for the rest of a UTC month from p_day on (ADR 0016, decision 7): ceil(fee × days left, p_day
-- included / days in p_day's month), in integers and rounded up once, so a member who joins on the 1st pays the
-- whole fee and one who joins on the last day one day's share. The day is a UTC date (the day the member joined).
create or replace function public.seat_prorated(p_fee bigint, p_day date) returns bigint
language sql immutable strict parallel safe as $$
  select (p_fee * (m.days - extract(day from p_day)::int + 1) + m.days - 1) / m.days
  from (select extract(day from date_trunc('month', p_day::timestamp) + interval '1 month' - interval '1 day')::int as days) m
$$;
