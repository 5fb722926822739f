-- Statements and receipts (issue 28): what the operator prints on them, immutable monthly statements numbered
-- per operator, and a numbered receipt for every credit. Billing contract clauses 55–58.

-- The operator's details as statements and receipts print them (one row, edited by admins, audited).
create table public.operator_settings (
  id boolean not null default true,
  legal_name text not null default '',
  address text not null default '',
  tax_id text not null default '',
  contact_email text not null default '',
  footer text not null default '',
  updated_at timestamptz not null default now(),
  constraint operator_settings_pkey primary key (id),
  constraint operator_settings_single_check check (id),
  constraint operator_settings_lengths_check check (
    length(legal_name) <= 200 and length(address) <= 1000 and length(tax_id) <= 100
    and length(contact_email) <= 254 and length(footer) <= 2000)
);
insert into public.operator_settings default values;
create trigger operator_settings_set_updated_at before update on public.operator_settings
  for each row execute function public.set_updated_at();
alter table public.operator_settings enable row level security;

-- Money moves at the platform's time: now(), or the moment a test stands at (tollgate_now). A statement's month is
-- decided by its ledger transaction's created_at.
alter table public.ledger_transactions alter column created_at set default public.tollgate_now();
alter table public.ledger_entries alter column created_at set default public.tollgate_now();
create index ledger_transactions_created_at_idx on public.ledger_transactions (created_at);

-- The operator's document numbers: one gapless counter per kind, moved in the transaction that issues a document.
create table public.document_counters (
  kind text not null,
  last_number bigint not null default 0,
  constraint document_counters_pkey primary key (kind),
  constraint document_counters_kind_check check (kind in ('statement', 'receipt')),
  constraint document_counters_last_number_check check (last_number >= 0)
);
insert into public.document_counters (kind) values ('statement'), ('receipt');
alter table public.document_counters enable row level security;

-- A closed month's statement of one account: its totals and lines as they were at closing, never changed after.
create table public.statements (
  id uuid not null default gen_random_uuid(),
  account_id uuid not null,
  month date not null,
  number bigint not null,
  label text not null,
  opening_micros bigint not null,
  credits_micros bigint not null,
  charges_micros bigint not null,
  seat_fees_micros bigint not null,
  adjustments_micros bigint not null,
  closing_micros bigint not null,
  -- The statement's lines (lib/statements/compute.ts, StatementLines), amounts as strings of micro-USD.
  lines jsonb not null,
  closed_at timestamptz not null default public.tollgate_now(),
  constraint statements_pkey primary key (id),
  constraint statements_account_id_fkey foreign key (account_id) references public.accounts (id),
  constraint statements_account_month_key unique (account_id, month),
  constraint statements_number_key unique (number),
  constraint statements_label_key unique (label),
  constraint statements_month_check check (month = date_trunc('month', month)::date),
  constraint statements_sum_check check (
    opening_micros + credits_micros + charges_micros + seat_fees_micros + adjustments_micros = closing_micros)
);
create index statements_account_idx on public.statements (account_id, month desc);
create trigger statements_append_only before update or delete on public.statements
  for each row execute function public.reject_change();
create trigger statements_no_truncate before truncate on public.statements
  for each statement execute function public.reject_change();
alter table public.statements enable row level security;

-- A month closed for every account (the closing job writes it with the statements, in one transaction).
create table public.statement_months (
  month date not null,
  statements integer not null,
  closed_at timestamptz not null default public.tollgate_now(),
  constraint statement_months_pkey primary key (month),
  constraint statement_months_month_check check (month = date_trunc('month', month)::date)
);
create trigger statement_months_append_only before update or delete on public.statement_months
  for each row execute function public.reject_change();
alter table public.statement_months enable row level security;

-- A receipt for each credit (issue_receipt, a trigger on ledger entries), numbered per operator.
create table public.receipts (
  number bigint not null,
  label text not null,
  transaction_id uuid not null,
  account_id uuid not null,
  amount_micros bigint not null,
  kind text not null,
  created_at timestamptz not null,
  constraint receipts_pkey primary key (number),
  constraint receipts_label_key unique (label),
  constraint receipts_transaction_account_key unique (transaction_id, account_id),
  constraint receipts_transaction_id_fkey foreign key (transaction_id) references public.ledger_transactions (id),
  constraint receipts_account_id_fkey foreign key (account_id) references public.accounts (id),
  constraint receipts_amount_check check (amount_micros > 0)
);
create index receipts_account_idx on public.receipts (account_id, number desc);
create trigger receipts_append_only before update or delete on public.receipts
  for each row execute function public.reject_change();
alter table public.receipts enable row level security;

-- Stripe's own receipt for a card payment (the Charge's receipt_url, from charge.succeeded / charge.updated).
alter table public.payments add column stripe_receipt_url text,
  add constraint payments_stripe_receipt_url_check check (
    stripe_receipt_url is null or (stripe_receipt_url ~ '^https://' and length(stripe_receipt_url) <= 2000));
