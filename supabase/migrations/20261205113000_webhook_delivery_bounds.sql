-- Customer webhooks, bounded: a sender's claim on an endpoint carries a token only its holder clears or extends
-- (lib/webhooks/deliver.ts), and an event waits at most once per endpoint (a replay or resend of an event already
-- pending adds nothing).
alter table public.webhook_endpoints add column sending_token uuid;

-- Copies of an event already waiting on the same endpoint (earlier replays and resends) go: the first stays.
delete from public.webhook_deliveries d
using public.webhook_deliveries k
where d.status = 'pending' and k.status = 'pending' and k.endpoint_id = d.endpoint_id and k.event_id = d.event_id
  and k.id < d.id;

create unique index webhook_deliveries_pending_once on public.webhook_deliveries (endpoint_id, event_id)
  where status = 'pending';
