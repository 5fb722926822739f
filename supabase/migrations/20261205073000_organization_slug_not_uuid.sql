-- An organization's slug is never shaped like an id: a path segment shaped like one names the organization with that
-- id (lib/orgs/access.ts orgFor), so a slug equal to another organization's id would open that one instead.
-- A slug made before this check that has the shape gets a suffix (40 characters at most: 36 + 4).
update public.organizations set slug = slug || '-org'
where slug ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

alter table public.organizations add constraint organizations_slug_not_uuid
  check (slug !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$');
