-- Redemption codes: admins create batches (amount, count, expiry, note); each code credits once, to one account,
-- in one statement (redeem_code). Codes are stored as HMAC-SHA256 with the server pepper, like API keys.
create table public.redemption_batches (
  id uuid not null default gen_random_uuid(),
  amount_micros bigint not null,
  code_count integer not null,
  expires_at timestamptz,
  note text not null default '',
  created_by uuid,
  created_at timestamptz not null default now(),
  constraint redemption_batches_pkey primary key (id),
  constraint redemption_batches_amount_check check (amount_micros between 1 and 9007199254740991),
  constraint redemption_batches_count_check check (code_count between 1 and 1000),
  constraint redemption_batches_created_by_fkey foreign key (created_by) references public.users (id) on delete set null
);
create index redemption_batches_created_idx on public.redemption_batches (created_at desc);

create table public.redemption_codes (
  id uuid not null default gen_random_uuid(),
  batch_id uuid not null,
  code_hash bytea not null,
  -- The first characters, shown so an admin can tell codes apart; the rest is never stored.
  prefix text not null,
  redeemed_at timestamptz,
  redeemed_by uuid,
  account_id uuid,
  ledger_transaction_id uuid,
  constraint redemption_codes_pkey primary key (id),
  constraint redemption_codes_code_hash_key unique (code_hash),
  constraint redemption_codes_batch_id_fkey foreign key (batch_id) references public.redemption_batches (id) on delete restrict,
  constraint redemption_codes_redeemed_by_fkey foreign key (redeemed_by) references public.users (id) on delete set null,
  constraint redemption_codes_account_id_fkey foreign key (account_id) references public.accounts (id),
  constraint redemption_codes_ledger_transaction_id_fkey foreign key (ledger_transaction_id) references public.ledger_transactions (id),
  constraint redemption_codes_redeemed_check check ((redeemed_at is null) = (account_id is null))
);
create index redemption_codes_batch_idx on public.redemption_codes (batch_id);

alter table public.redemption_batches enable row level security;
alter table public.redemption_codes enable row level security;

alter table public.ledger_transactions drop constraint ledger_transactions_kind_check;
alter table public.ledger_transactions add constraint ledger_transactions_kind_check check (
  kind in ('topup', 'grant', 'adjustment', 'charge', 'charge_adjustment', 'redemption'));
