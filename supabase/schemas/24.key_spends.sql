-- Whether a key's account lets it spend (ADR 0016), asked by place_hold and grant_lease before they reserve: a key of
-- an organization spends only while the organization is active and its maker is still a member with a role that
-- uses keys (not billing), else TG401 as for a revoked key; an organization whose seat fees are unpaid
-- (p_seats_due_micros > 0) is refused new calls with TG402, scope 'seats', until a top-up pays them. A person's key
-- (p_organization_id null) always passes.
create or replace function public.key_spends(
  p_organization_id uuid, p_organization_status text, p_member_role text, p_seats_due_micros bigint
) returns void
language plpgsql stable as $$
begin
  if p_organization_id is null then
    return;
  end if;
  if p_organization_status is distinct from 'active' then
    raise exception 'the organization of this API key is suspended' using errcode = 'TG401';
  end if;
  if p_member_role is null or p_member_role = 'billing' then
    raise exception 'the maker of this API key is no longer a member who may use the organization''s keys'
      using errcode = 'TG401';
  end if;
  if p_seats_due_micros > 0 then
    raise exception 'seat fees unpaid' using errcode = 'TG402', detail = json_build_object(
      'scope', 'seats', 'neededMicros', p_seats_due_micros::text)::text;
  end if;
end;
$$;
