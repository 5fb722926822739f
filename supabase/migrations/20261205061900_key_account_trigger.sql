-- A key inserted without its account spends from its user's own (key_account).
create trigger api_keys_key_account before insert on public.api_keys
  for each row execute function public.key_account();
