-- The prompt a worst case is priced for (billing contract, clauses 3, 44): at most the model's context window where
-- the call is one pass of the model (chat, Responses, Messages) — a provider refuses a longer prompt. Embeddings and
-- legacy completions pass each input or prompt on its own: the gateway's bound caps each of them at the window, and
-- their sum may rightly exceed it (two inputs of 8,000 tokens are billed 16,000 on an 8,192-token model).
create or replace function public.counted_prompt(p_prompt bigint, p_context_window integer, p_kind text)
returns bigint
language sql immutable parallel safe as $$
  select case when p_kind in ('embedding', 'completion') then p_prompt else least(p_prompt, p_context_window) end
$$;
