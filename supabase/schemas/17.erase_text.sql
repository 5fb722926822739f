-- A text with a person's email (anywhere, any case) replaced by their pseudonym and each of their names (as a whole
-- word, any case) replaced by '[erased]': for free text that mentions them (audit entries, notification subjects,
-- job payloads).
create or replace function public.erase_text(p_text text, p_email text, p_names text[], p_pseudonym text)
returns text
language plpgsql immutable as $$
declare
  result text := p_text;
  person_name text;
  escape constant text := '([.*+?^${}()|\[\]\\])';
begin
  if result is null then
    return null;
  end if;
  result := regexp_replace(result, regexp_replace(p_email, escape, '\\\1', 'g'), p_pseudonym, 'gi');
  foreach person_name in array coalesce(p_names, '{}'::text[]) loop
    if length(trim(person_name)) >= 2 then
      result := regexp_replace(result, '\m' || regexp_replace(person_name, escape, '\\\1', 'g') || '\M',
                               '[erased]', 'gi');
    end if;
  end loop;
  return result;
end;
$$;
