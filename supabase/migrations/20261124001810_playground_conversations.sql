-- Saved playground conversations, one developer's own: the messages as the chat UI holds them (text parts and the
-- per-answer metadata: model, call id, tokens, timings) and the settings they were made with. Not a record of
-- billing (usage_events is): deleting a conversation deletes nothing else.
create table public.playground_conversations (
  id uuid not null default gen_random_uuid(),
  user_id uuid not null,
  title text not null default 'New chat',
  settings jsonb not null default '{}',
  messages jsonb not null default '[]',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint playground_conversations_pkey primary key (id),
  constraint playground_conversations_user_id_fkey foreign key (user_id) references public.users (id) on delete cascade,
  constraint playground_conversations_title_check check (char_length(title) between 1 and 200),
  constraint playground_conversations_messages_check check (jsonb_typeof(messages) = 'array')
);
create index playground_conversations_user_updated_idx on public.playground_conversations (user_id, updated_at desc);
create trigger playground_conversations_updated_at before update on public.playground_conversations
  for each row execute function public.set_updated_at();
alter table public.playground_conversations enable row level security;
