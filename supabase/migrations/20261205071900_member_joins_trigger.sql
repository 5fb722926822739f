-- A joining member's cap windows count what they were already charged in the organization this day and month.
create trigger organization_members_join before insert on public.organization_members
  for each row execute function public.member_joins();
