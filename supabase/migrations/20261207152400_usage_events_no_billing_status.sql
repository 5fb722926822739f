-- docs/adr/0043: a usage row stores its outcome (status) and no billing status, which is always the outcome's
-- (billing_status(status): success 'exact', cut 'estimated', failure 'waived'; settle_usage and upgrade_usage wrote no
-- other since the column was made). The roll-ups keep their billing_status columns, computed by the same function.
--
-- Refused if any row says otherwise (a row changed by hand): its roll-ups would then disagree with the detail
-- (retention_day_check). The check reads the table once (no lock but a reader's); dropping the column is a catalog
-- change: no row is rewritten, a row written from now on is 6 bytes smaller.
do $$
begin
  if exists (select 1 from public.usage_events where billing_status is distinct from public.billing_status(status)) then
    raise exception 'usage_events: a row''s billing status is not its outcome''s; the column is kept';
  end if;
end;
$$;

alter table public.usage_events drop column billing_status;
