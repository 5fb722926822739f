-- Plans: admin-defined tiers applied to users. A user's keys inherit the plan's limits (RPM/TPM, models) unless
-- an admin set the key's own; the plan's request-per-day and money budgets apply to the user's account,
-- enforced by place_hold like every budget (billing contract, clause 27). An optional grant credits the
-- account once a month (lib/billing/plans.ts). No plan: pay as you go, only the key's and account's limits.
create table public.plans (
  id uuid not null default gen_random_uuid(),
  name text not null,
  description text not null default '',
  requests_per_day integer,
  rpm_limit integer,
  tpm_limit integer,
  daily_budget_micros bigint,
  monthly_budget_micros bigint,
  allowed_models text[] not null default '{}',
  monthly_grant_micros bigint,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint plans_pkey primary key (id),
  constraint plans_name_key unique (name),
  constraint plans_name_check check (length(name) between 1 and 60),
  constraint plans_limits_check check (
    coalesce(requests_per_day, 1) > 0 and coalesce(rpm_limit, 1) > 0 and coalesce(tpm_limit, 1) > 0),
  constraint plans_money_check check (
    coalesce(daily_budget_micros, 0) between 0 and 9007199254740991
    and coalesce(monthly_budget_micros, 0) between 0 and 9007199254740991
    and coalesce(monthly_grant_micros, 0) between 0 and 9007199254740991)
);
create trigger plans_set_updated_at before update on public.plans
  for each row execute function public.set_updated_at();
alter table public.plans enable row level security;

alter table public.users
  add column plan_id uuid,
  add constraint users_plan_id_fkey foreign key (plan_id) references public.plans (id) on delete restrict;
create index users_plan_id_idx on public.users (plan_id) where plan_id is not null;

-- Calls reserved today (the account's budget_day window), against the plan's requests_per_day.
alter table public.accounts
  add column day_requests integer not null default 0,
  add constraint accounts_day_requests_check check (day_requests >= 0);
