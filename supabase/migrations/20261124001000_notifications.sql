-- Every notification Tollgate sends (or could not send), one row per attempt's outcome.
create table public.notifications (
  id bigint generated always as identity,
  account_id uuid,
  kind text not null,
  recipient text not null,
  subject text not null,
  status text not null,
  error text,
  job_id bigint,
  created_at timestamptz not null default now(),
  constraint notifications_pkey primary key (id),
  constraint notifications_account_id_fkey foreign key (account_id) references public.accounts (id),
  constraint notifications_status_check check (status in ('sent', 'failed', 'skipped'))
);
create index notifications_account_idx on public.notifications (account_id, created_at desc);
alter table public.notifications enable row level security;
