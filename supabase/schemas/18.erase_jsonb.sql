-- A JSON document with a person's personal data taken out (GDPR erasure): every string passes through erase_text,
-- a string equal to one of p_exact (names the person chose: their keys') becomes '[erased]', and the values of keys
-- that hold a client's address or browser (ip, userAgent, user_agent) become null. Structure and numbers stay.
create or replace function public.erase_jsonb(
  p_doc jsonb, p_email text, p_names text[], p_pseudonym text, p_exact text[]
) returns jsonb
language plpgsql immutable as $$
declare
  result jsonb;
begin
  case jsonb_typeof(p_doc)
    when 'object' then
      select coalesce(jsonb_object_agg(e.key,
               case when e.key in ('ip', 'userAgent', 'user_agent') then 'null'::jsonb
                    else erase_jsonb(e.value, p_email, p_names, p_pseudonym, p_exact) end), '{}'::jsonb)
        into result from jsonb_each(p_doc) e;
      return result;
    when 'array' then
      select coalesce(jsonb_agg(erase_jsonb(e.value, p_email, p_names, p_pseudonym, p_exact) order by e.n), '[]'::jsonb)
        into result from jsonb_array_elements(p_doc) with ordinality e(value, n);
      return result;
    when 'string' then
      if (p_doc #>> '{}') = any(p_exact) then
        return to_jsonb('[erased]'::text);
      end if;
      return to_jsonb(erase_text(p_doc #>> '{}', p_email, p_names, p_pseudonym));
    else
      return p_doc;
  end case;
end;
$$;
