-- Organizations (ADR 0016, issue 25): a team's own account (kind 'team') that its members spend from, each within
-- caps the owner sets, reserved where the money is reserved (place_hold, grant_lease) like a key's budgets.

create table public.organizations (
  id uuid not null default gen_random_uuid(),
  name text not null,
  -- The organization in URLs (?org=<slug>): lower-case letters, digits and dashes.
  slug text not null,
  -- suspended: by a platform admin; its keys are refused like a suspended user's.
  status text not null default 'active',
  created_by uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint organizations_pkey primary key (id),
  constraint organizations_slug_key unique (slug),
  constraint organizations_slug_check check (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$'),
  constraint organizations_name_check check (length(name) between 1 and 100),
  constraint organizations_status_check check (status in ('active', 'suspended')),
  constraint organizations_created_by_fkey foreign key (created_by) references public.users (id) on delete set null
);
create trigger organizations_set_updated_at before update on public.organizations
  for each row execute function public.set_updated_at();
alter table public.organizations enable row level security;

-- A team account belongs to exactly one organization; a plan and an allow-list of its own (a person's plan is on
-- the user). Seat fees the balance could not pay (seats_due_micros > 0) stop new calls with 402 until paid.
alter table public.accounts
  add column organization_id uuid,
  add column plan_id uuid,
  add column allowed_models text[] not null default '{}',
  add column seats_due_micros bigint not null default 0,
  add constraint accounts_organization_id_fkey foreign key (organization_id)
    references public.organizations (id) on delete restrict,
  add constraint accounts_organization_id_key unique (organization_id),
  add constraint accounts_plan_id_fkey foreign key (plan_id) references public.plans (id) on delete restrict,
  add constraint accounts_organization_check check ((kind = 'team') = (organization_id is not null)),
  add constraint accounts_plan_check check (plan_id is null or kind = 'team'),
  add constraint accounts_seats_due_check check (seats_due_micros between 0 and 9007199254740991);

-- A seat's monthly price on plans that organizations take (null: no seat fee).
alter table public.plans
  add column seat_price_micros bigint,
  add constraint plans_seat_price_check check (coalesce(seat_price_micros, 0) between 0 and 9007199254740991);

-- Members: a role and caps, with their own UTC day and month windows kept on the row like a key's
-- (reserve_on_member, move_member_windows), so a member's cap is checked in the statement that reserves money.
create table public.organization_members (
  organization_id uuid not null,
  user_id uuid not null,
  role text not null,
  daily_cap_micros bigint,
  monthly_cap_micros bigint,
  budget_day date not null default (now() at time zone 'utc')::date,
  day_used_micros bigint not null default 0,
  budget_month date not null default date_trunc('month', now() at time zone 'utc')::date,
  month_used_micros bigint not null default 0,
  invited_by uuid,
  joined_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint organization_members_pkey primary key (organization_id, user_id),
  constraint organization_members_organization_id_fkey foreign key (organization_id)
    references public.organizations (id) on delete cascade,
  constraint organization_members_user_id_fkey foreign key (user_id) references public.users (id) on delete cascade,
  constraint organization_members_invited_by_fkey foreign key (invited_by) references public.users (id) on delete set null,
  constraint organization_members_role_check check (role in ('owner', 'admin', 'member', 'billing')),
  constraint organization_members_caps_check check (
    coalesce(daily_cap_micros, 0) between 0 and 9007199254740991
    and coalesce(monthly_cap_micros, 0) between 0 and 9007199254740991),
  constraint organization_members_used_check check (day_used_micros >= 0 and month_used_micros >= 0)
);
-- Exactly one owner (a transfer changes both rows in one statement; the check is deferred to its end).
create unique index organization_members_one_owner on public.organization_members (organization_id)
  where role = 'owner';
create index organization_members_user_idx on public.organization_members (user_id);
create trigger organization_members_set_updated_at before update on public.organization_members
  for each row execute function public.set_updated_at();
alter table public.organization_members enable row level security;

-- Invitations: a random token shown once in the email link, stored as its keyed hash; accepted once.
create table public.organization_invitations (
  id uuid not null default gen_random_uuid(),
  organization_id uuid not null,
  email text not null,
  role text not null,
  token_hash bytea not null,
  invited_by uuid,
  expires_at timestamptz not null,
  accepted_at timestamptz,
  accepted_by uuid,
  revoked_at timestamptz,
  created_at timestamptz not null default now(),
  constraint organization_invitations_pkey primary key (id),
  constraint organization_invitations_organization_id_fkey foreign key (organization_id)
    references public.organizations (id) on delete cascade,
  constraint organization_invitations_invited_by_fkey foreign key (invited_by)
    references public.users (id) on delete set null,
  constraint organization_invitations_accepted_by_fkey foreign key (accepted_by)
    references public.users (id) on delete set null,
  constraint organization_invitations_token_hash_key unique (token_hash),
  constraint organization_invitations_role_check check (role in ('admin', 'member', 'billing')),
  constraint organization_invitations_email_check check (length(email) between 3 and 254 and email = lower(email)),
  constraint organization_invitations_once_check check (accepted_at is null or revoked_at is null)
);
create unique index organization_invitations_one_pending on public.organization_invitations (organization_id, email)
  where accepted_at is null and revoked_at is null;
alter table public.organization_invitations enable row level security;

-- Seat fees: one row per (organization, member, UTC month), paid by one ledger transaction, or due while the
-- balance could not pay it.
create table public.seat_charges (
  organization_id uuid not null,
  user_id uuid not null,
  month date not null,
  amount_micros bigint not null,
  status text not null,
  ledger_transaction_id uuid,
  created_at timestamptz not null default now(),
  paid_at timestamptz,
  constraint seat_charges_pkey primary key (organization_id, user_id, month),
  constraint seat_charges_organization_id_fkey foreign key (organization_id)
    references public.organizations (id) on delete cascade,
  constraint seat_charges_user_id_fkey foreign key (user_id) references public.users (id) on delete cascade,
  constraint seat_charges_amount_check check (amount_micros between 0 and 9007199254740991),
  constraint seat_charges_status_check check (status in ('paid', 'due')),
  constraint seat_charges_paid_check check ((status = 'paid') = (ledger_transaction_id is not null)),
  constraint seat_charges_month_check check (month = date_trunc('month', month)::date)
);
alter table public.seat_charges enable row level security;

alter table public.ledger_transactions drop constraint ledger_transactions_kind_check;
alter table public.ledger_transactions add constraint ledger_transactions_kind_check check (
  kind in ('topup', 'grant', 'adjustment', 'charge', 'charge_adjustment', 'redemption', 'seat_fee'));

-- A key names the account it spends from: its user's own, or an organization's (its user is the member who made it).
alter table public.api_keys add column account_id uuid;
update public.api_keys k set account_id = a.id from public.accounts a where a.owner_user_id = k.user_id;
alter table public.api_keys
  alter column account_id set not null,
  add constraint api_keys_account_id_fkey foreign key (account_id) references public.accounts (id) on delete restrict;
create index api_keys_account_id_idx on public.api_keys (account_id, created_at desc);
-- One playground key per developer per account (their own, and each organization's they use the playground in).
drop index public.api_keys_one_playground_key;
create unique index api_keys_one_playground_key on public.api_keys (user_id, account_id)
  where purpose = 'playground' and status = 'active';
