-- docs/adr/0032, after the functions: a partition the previous ensure_usage_partitions made between the two migrations
-- (the days ahead, at midnight) has no call key index yet; this one gives it one, and keeps the days ahead made.
select public.ensure_usage_partitions((public.tollgate_now() at time zone 'utc')::date - 1,
                                      (public.tollgate_now() at time zone 'utc')::date + 7);
