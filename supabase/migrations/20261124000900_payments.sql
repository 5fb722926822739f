-- Self-service credit: Stripe Checkout top-ups (payments, with Stripe's events recorded once each) and the
-- settings admins set for them; low-balance notification thresholds and their episode state.
create table public.billing_settings (
  id boolean not null default true,
  topup_min_micros bigint not null default 5000000,
  topup_max_micros bigint not null default 500000000,
  topup_presets_micros bigint[] not null default '{10000000,25000000,50000000}',
  -- An account is "running low" below this, unless it has its own threshold.
  low_balance_micros bigint not null default 1000000,
  updated_at timestamptz not null default now(),
  constraint billing_settings_pkey primary key (id),
  constraint billing_settings_single_check check (id),
  constraint billing_settings_topup_check check (
    topup_min_micros >= 10000 and topup_max_micros >= topup_min_micros and topup_max_micros <= 9007199254740991
    and topup_min_micros % 10000 = 0 and topup_max_micros % 10000 = 0),
  constraint billing_settings_low_balance_check check (low_balance_micros between 0 and 9007199254740991)
);
insert into public.billing_settings default values;
create trigger billing_settings_set_updated_at before update on public.billing_settings
  for each row execute function public.set_updated_at();

create table public.payments (
  id uuid not null default gen_random_uuid(),
  account_id uuid not null,
  user_id uuid not null,
  stripe_session_id text,
  stripe_payment_intent_id text,
  -- What the developer asked for; what Stripe reported paid (credited); what was refunded or lost to disputes.
  amount_micros bigint not null,
  paid_micros bigint not null default 0,
  refunded_micros bigint not null default 0,
  currency text not null default 'usd',
  status text not null default 'pending',
  failure_reason text,
  created_at timestamptz not null default now(),
  completed_at timestamptz,
  constraint payments_pkey primary key (id),
  constraint payments_stripe_session_id_key unique (stripe_session_id),
  constraint payments_account_id_fkey foreign key (account_id) references public.accounts (id),
  constraint payments_user_id_fkey foreign key (user_id) references public.users (id),
  constraint payments_status_check check (status in ('pending', 'paid', 'expired', 'failed', 'refunded', 'partially_refunded', 'disputed')),
  constraint payments_money_check check (amount_micros > 0 and paid_micros >= 0 and refunded_micros >= 0
    and refunded_micros <= paid_micros)
);
create index payments_account_idx on public.payments (account_id, created_at desc);
create index payments_created_idx on public.payments (created_at desc);
create index payments_payment_intent_idx on public.payments (stripe_payment_intent_id);

-- Each Stripe event is handled once (Stripe delivers at least once, in any order).
create table public.stripe_events (
  event_id text not null,
  type text not null,
  received_at timestamptz not null default now(),
  constraint stripe_events_pkey primary key (event_id)
);

alter table public.accounts
  add column low_balance_micros bigint,
  add column low_balance_notified_at timestamptz,
  add constraint accounts_low_balance_check check (coalesce(low_balance_micros, 0) between 0 and 9007199254740991);

alter table public.billing_settings enable row level security;
alter table public.payments enable row level security;
alter table public.stripe_events enable row level security;
