-- Money crosses JSON as exact numbers, so no amount may pass 2^53 − 1 micro-USD (about $9 billion): the API's
-- schemas refuse larger inputs (lib/billing/schemas.ts) and these refuse larger sums (clause 24).
alter table public.accounts add constraint accounts_money_bounds_check check (
  balance_micros between -9007199254740991 and 9007199254740991
  and held_micros <= 9007199254740991
  and day_used_micros <= 9007199254740991
  and month_used_micros <= 9007199254740991
  and coalesce(daily_budget_micros, 0) <= 9007199254740991
  and coalesce(monthly_budget_micros, 0) <= 9007199254740991
);
alter table public.api_keys add constraint api_keys_money_bounds_check check (
  day_used_micros <= 9007199254740991
  and month_used_micros <= 9007199254740991
  and coalesce(daily_budget_micros, 0) <= 9007199254740991
  and coalesce(monthly_budget_micros, 0) <= 9007199254740991
);
