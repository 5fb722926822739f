-- Issue 30: an alert rule may watch the share of calls the gateway's prompt-injection heuristic flagged
-- (unsafe_rate: basis points of the window's calls whose safety_score is at least FLAGGED_SAFETY_SCORE, 50;
-- lib/analytics/alerts.ts measures it with the window's other counts, so it needs no index of its own).
alter table public.alert_rules drop constraint alert_rules_metric_check,
  add constraint alert_rules_metric_check check (metric in ('spend_rate', 'error_rate', 'overrun', 'unsafe_rate'));
