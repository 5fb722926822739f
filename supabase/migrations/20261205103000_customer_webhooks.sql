-- Customer usage webhooks (issue 28): endpoints an account (a person's or an organization's) registers, the events
-- written in the same transaction as what they report (an outbox), one delivery per (endpoint, event) sent in call
-- order, and each attempt's outcome. lib/webhooks/ reads and writes them; the queue job webhooks.deliver sends.

create table public.webhook_endpoints (
  id uuid not null default gen_random_uuid(),
  account_id uuid not null,
  url text not null,
  description text not null default '',
  event_types text[] not null,
  enabled boolean not null default true,
  -- Why it was switched off, when Tollgate did it (deliveries failing for days); null when on or off by hand.
  disabled_reason text,
  -- 1: one event per request; more: a JSON array of up to this many events per request.
  batch_max integer not null default 1,
  timeout_ms integer not null default 10000,
  -- The signing secret (whsec_…), AES-256-GCM encrypted (lib/webhooks/secret.ts); after a rotation the previous one
  -- signs too until previous_secret_expires_at.
  secret_ciphertext text not null,
  previous_secret_ciphertext text,
  previous_secret_expires_at timestamptz,
  secret_rotated_at timestamptz,
  -- Delivery state: failures in a row since failing_since; the head delivery waits until next_attempt_at.
  failing_since timestamptz,
  failure_count integer not null default 0,
  next_attempt_at timestamptz,
  -- A sender holds the endpoint until then (one sender per endpoint keeps the order).
  sending_until timestamptz,
  created_by uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint webhook_endpoints_pkey primary key (id),
  constraint webhook_endpoints_account_id_fkey foreign key (account_id) references public.accounts (id) on delete cascade,
  constraint webhook_endpoints_created_by_fkey foreign key (created_by) references public.users (id) on delete set null,
  constraint webhook_endpoints_url_check check (char_length(url) between 8 and 2048),
  constraint webhook_endpoints_event_types_check check (cardinality(event_types) >= 1),
  constraint webhook_endpoints_batch_max_check check (batch_max between 1 and 100),
  constraint webhook_endpoints_timeout_check check (timeout_ms between 1000 and 30000)
);
create index webhook_endpoints_account_idx on public.webhook_endpoints (account_id, created_at);
create trigger webhook_endpoints_set_updated_at before update on public.webhook_endpoints
  for each row execute function public.set_updated_at();

create table public.webhook_events (
  id uuid not null default gen_random_uuid(),
  account_id uuid not null,
  type text not null,
  -- When what it reports happened (a call's start): deliveries go out in this order per endpoint.
  occurred_at timestamptz not null,
  payload jsonb not null,
  -- At most one event per fact (e.g. call.charged:<key>:<call id>): a repeated emission writes nothing.
  dedup_key text not null,
  created_at timestamptz not null default now(),
  constraint webhook_events_pkey primary key (id),
  constraint webhook_events_account_id_fkey foreign key (account_id) references public.accounts (id) on delete cascade,
  constraint webhook_events_dedup_key_key unique (dedup_key),
  constraint webhook_events_type_check check (type in ('call.charged', 'balance.low', 'topup.succeeded', 'key.revoked'))
);
create index webhook_events_account_idx on public.webhook_events (account_id, occurred_at);

create table public.webhook_deliveries (
  id bigint generated always as identity,
  endpoint_id uuid not null,
  event_id uuid not null,
  occurred_at timestamptz not null,
  status text not null default 'pending',
  -- event: made when the event was written; resend / replay: asked for by the endpoint's owner.
  origin text not null default 'event',
  attempts integer not null default 0,
  last_status integer,
  last_error text,
  created_at timestamptz not null default now(),
  delivered_at timestamptz,
  constraint webhook_deliveries_pkey primary key (id),
  constraint webhook_deliveries_endpoint_id_fkey foreign key (endpoint_id) references public.webhook_endpoints (id)
    on delete cascade,
  constraint webhook_deliveries_event_id_fkey foreign key (event_id) references public.webhook_events (id)
    on delete cascade,
  constraint webhook_deliveries_status_check check (status in ('pending', 'delivered', 'failed')),
  constraint webhook_deliveries_origin_check check (origin in ('event', 'resend', 'replay'))
);
create unique index webhook_deliveries_event_once on public.webhook_deliveries (endpoint_id, event_id)
  where origin = 'event';
create index webhook_deliveries_pending_idx on public.webhook_deliveries (endpoint_id, occurred_at, id)
  where status = 'pending';
create index webhook_deliveries_endpoint_idx on public.webhook_deliveries (endpoint_id, created_at desc);

create table public.webhook_attempts (
  id bigint generated always as identity,
  endpoint_id uuid not null,
  delivery_ids bigint[] not null,
  attempted_at timestamptz not null,
  ok boolean not null,
  -- null when no answer came (refused address, connection error, timeout).
  status_code integer,
  latency_ms integer not null,
  -- The answer's first 1 KB; or why there was none.
  response_excerpt text,
  error text,
  constraint webhook_attempts_pkey primary key (id),
  constraint webhook_attempts_endpoint_id_fkey foreign key (endpoint_id) references public.webhook_endpoints (id)
    on delete cascade,
  constraint webhook_attempts_excerpt_check check (char_length(response_excerpt) <= 1024)
);
create index webhook_attempts_endpoint_idx on public.webhook_attempts (endpoint_id, attempted_at desc);

alter table public.webhook_endpoints enable row level security;
alter table public.webhook_events enable row level security;
alter table public.webhook_deliveries enable row level security;
alter table public.webhook_attempts enable row level security;
