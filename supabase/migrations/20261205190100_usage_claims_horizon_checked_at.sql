-- When retention last looked at how far the claims horizon may go (advance_usage_claims_horizon_every): it looks at
-- most once per its interval, each look reading the catalog, usage_events_default and the open holds. Null: never.
alter table public.usage_claims_horizon add column checked_at timestamptz;
