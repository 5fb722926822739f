-- Balance leases (docs/adr/0011-balance-leases.md, billing contract clauses 31–38): a gateway process is granted a
-- slice of a key's available balance and spends it locally, call by call; the platform sees one grant per many
-- calls and batched usage events. A lease only reserves money (its reserved_micros is part of the account's
-- held_micros, as open call holds are); charges still come from usage events, exactly once by call id.

create table public.leases (
  -- Chosen by the gateway process, so a grant whose answer was lost can be asked again under the same id.
  id uuid not null,
  key_id uuid not null,
  account_id uuid not null,
  user_id uuid not null,
  -- The gateway process holding it (one uuid per process start).
  process_id text not null,
  -- open: calls draw from it; closing: returned, its in-flight calls' share still reserved until their events
  -- arrive; closed: returned and settled; expired: its validity ran out and what was left was released.
  status text not null default 'open',
  -- Reserved on the account now (part of accounts.held_micros): granted − released − the draws of settled calls.
  reserved_micros bigint not null default 0,
  granted_micros bigint not null default 0,
  -- The draws of calls settled against it, what they were charged, what went back to the balance unused.
  drawn_micros bigint not null default 0,
  charged_micros bigint not null default 0,
  released_micros bigint not null default 0,
  calls integer not null default 0,
  grants integer not null default 0,
  -- A repeated grant request (same nonce) is answered with the grant it already made.
  last_nonce text,
  last_granted_micros bigint not null default 0,
  created_at timestamptz not null default now(),
  -- Never past the UTC midnight after created_at: every grant of a lease counts in its UTC day (clause 35).
  expires_at timestamptz not null,
  closed_at timestamptz,
  close_reason text,
  constraint leases_pkey primary key (id),
  constraint leases_key_id_fkey foreign key (key_id) references public.api_keys (id),
  constraint leases_account_id_fkey foreign key (account_id) references public.accounts (id),
  constraint leases_user_id_fkey foreign key (user_id) references public.users (id),
  constraint leases_status_check check (status in ('open', 'closing', 'closed', 'expired')),
  constraint leases_closed_check check ((status in ('open', 'closing')) = (closed_at is null)),
  constraint leases_amounts_check check (reserved_micros >= 0 and granted_micros >= 0 and drawn_micros >= 0
                                         and charged_micros >= 0 and released_micros >= 0
                                         and reserved_micros <= 9007199254740991 and granted_micros <= 9007199254740991)
);
create index leases_live_idx on public.leases (expires_at) where status in ('open', 'closing');
create index leases_key_idx on public.leases (key_id, created_at desc);
create index leases_account_idx on public.leases (account_id, created_at desc);
alter table public.leases enable row level security;

-- A call served from a lease names it, with what it drew (its worst case, reserved locally by the gateway).
alter table public.usage_events
  add column lease_id uuid,
  add column draw_micros bigint,
  add constraint usage_events_lease_id_fkey foreign key (lease_id) references public.leases (id),
  add constraint usage_events_draw_check check (draw_micros is null or draw_micros >= 0);
create index usage_events_lease_idx on public.usage_events (lease_id) where lease_id is not null;
