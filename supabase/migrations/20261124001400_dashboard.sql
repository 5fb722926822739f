-- The admin dashboard's read paths and spend alerts (docs/adr/0012-dashboard-read-path.md).

-- What kind of call an event is (the endpoint the app called). Every call billed so far is a chat completion;
-- the other kinds arrive with their billing (embeddings, images, audio, Responses, Messages, completions).
alter table public.usage_events
  add column kind text not null default 'chat',
  add constraint usage_events_kind_check check (
    kind in ('chat', 'completion', 'embedding', 'image', 'transcription', 'speech', 'responses', 'messages'));

-- When a streamed call's first token reached the gateway: the request log's time to first token.
alter table public.usage_events add column first_token_at timestamptz;

-- The request log pages newest first by (started_at, id) with a cursor; each filter has an index that serves
-- "this user's / key's / model's calls in a time range, newest first".
create index usage_events_started_id_idx on public.usage_events (started_at desc, id desc);
drop index if exists public.usage_events_started_idx;
create index usage_events_user_idx on public.usage_events (user_id, started_at desc);
create index usage_events_key_idx on public.usage_events (key_id, started_at desc);
create index usage_events_model_idx on public.usage_events (model_group, started_at desc);
create index usage_events_failures_idx on public.usage_events (started_at desc) where status <> 'success';

-- Alert rules: spend rate (micro-USD per hour over the window) or error rate (basis points of failed calls over
-- the window, from min_calls calls up) for the whole platform, one user or one key.
create table public.alert_rules (
  id uuid not null default gen_random_uuid(),
  name text not null,
  scope text not null,
  user_id uuid,
  key_id uuid,
  metric text not null,
  window_minutes integer not null default 60,
  warn_threshold bigint,
  critical_threshold bigint,
  min_calls integer not null default 20,
  enabled boolean not null default true,
  created_by uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint alert_rules_pkey primary key (id),
  constraint alert_rules_scope_check check (scope in ('platform', 'user', 'key')),
  constraint alert_rules_target_check check (
    (scope = 'platform' and user_id is null and key_id is null)
    or (scope = 'user' and user_id is not null and key_id is null)
    or (scope = 'key' and key_id is not null and user_id is null)),
  constraint alert_rules_metric_check check (metric in ('spend_rate', 'error_rate')),
  constraint alert_rules_window_check check (window_minutes between 5 and 1440),
  constraint alert_rules_thresholds_check check (
    (warn_threshold is not null or critical_threshold is not null)
    and coalesce(warn_threshold, 0) >= 0 and coalesce(critical_threshold, 0) >= 0
    and (warn_threshold is null or critical_threshold is null or warn_threshold <= critical_threshold)
    and (metric <> 'error_rate' or (coalesce(warn_threshold, 0) <= 10000 and coalesce(critical_threshold, 0) <= 10000))),
  constraint alert_rules_min_calls_check check (min_calls >= 1),
  constraint alert_rules_user_id_fkey foreign key (user_id) references public.users (id) on delete cascade,
  constraint alert_rules_key_id_fkey foreign key (key_id) references public.api_keys (id) on delete cascade,
  constraint alert_rules_created_by_fkey foreign key (created_by) references public.users (id) on delete set null
);
create trigger alert_rules_updated_at before update on public.alert_rules
  for each row execute function public.set_updated_at();

-- An episode: from the evaluation that first finds a rule over a threshold to the one that finds it under again.
-- One open episode per rule; the rule re-arms only after its episode clears (no repeated notices).
create table public.alert_episodes (
  id uuid not null default gen_random_uuid(),
  rule_id uuid not null,
  severity text not null,
  peak_severity text not null,
  value bigint not null,
  threshold bigint not null,
  opened_at timestamptz not null default now(),
  cleared_at timestamptz,
  last_value bigint not null,
  last_evaluated_at timestamptz not null default now(),
  constraint alert_episodes_pkey primary key (id),
  constraint alert_episodes_rule_id_fkey foreign key (rule_id) references public.alert_rules (id) on delete cascade,
  constraint alert_episodes_severity_check check (severity in ('warning', 'critical') and peak_severity in ('warning', 'critical'))
);
create unique index alert_episodes_open_key on public.alert_episodes (rule_id) where cleared_at is null;
create index alert_episodes_opened_idx on public.alert_episodes (opened_at desc);

-- Every notice sent for an episode (opened, escalated, resolved), once each, with its delivery state.
create table public.alert_deliveries (
  id uuid not null default gen_random_uuid(),
  episode_id uuid not null,
  event text not null,
  url text not null,
  status text not null default 'pending',
  attempts integer not null default 0,
  last_error text,
  response_status integer,
  created_at timestamptz not null default now(),
  delivered_at timestamptz,
  constraint alert_deliveries_pkey primary key (id),
  constraint alert_deliveries_episode_event_key unique (episode_id, event),
  constraint alert_deliveries_episode_id_fkey foreign key (episode_id) references public.alert_episodes (id) on delete cascade,
  constraint alert_deliveries_event_check check (event in ('opened', 'escalated', 'resolved')),
  constraint alert_deliveries_status_check check (status in ('pending', 'delivered', 'failed'))
);

-- Where notices go, and the secret they are signed with (HMAC-SHA256 over "t.body", like usage webhooks).
create table public.alert_settings (
  id boolean not null default true,
  webhook_url text,
  signing_secret text not null default encode(sha256(gen_random_uuid()::text::bytea || clock_timestamp()::text::bytea), 'hex'),
  updated_at timestamptz not null default now(),
  constraint alert_settings_pkey primary key (id),
  constraint alert_settings_single_check check (id)
);
insert into public.alert_settings (id) values (true);

-- The defaults the issue names: the whole platform's spend, warning at $1/hour, critical at $5/hour; and its error
-- rate, warning at 10 %, critical at 25 % (from 20 calls in the hour).
insert into public.alert_rules (name, scope, metric, window_minutes, warn_threshold, critical_threshold, min_calls)
values ('Platform spend rate', 'platform', 'spend_rate', 60, 1000000, 5000000, 1),
       ('Platform error rate', 'platform', 'error_rate', 60, 1000, 2500, 20);

alter table public.alert_rules enable row level security;
alter table public.alert_episodes enable row level security;
alter table public.alert_deliveries enable row level security;
alter table public.alert_settings enable row level security;
