import "server-only";
import type { Db } from "@/lib/db/client";
import { notFound } from "@/lib/http/errors";

/** A saved playground conversation: always one developer's own (every query is scoped to the owner). */
export interface Conversation {
  id: string;
  title: string;
  settings: Record<string, unknown>;
  messages: unknown[];
  createdAt: Date;
  updatedAt: Date;
}

export type ConversationSummary = Omit<Conversation, "messages" | "settings"> & { turns: number };

/** The owner's conversations, newest first; q searches titles and message text (case-insensitive). */
export async function listConversations(db: Db, userId: string, q?: string): Promise<ConversationSummary[]> {
  const like = q ? `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
  return db<ConversationSummary[]>`
    select id, title, jsonb_array_length(messages)::int as turns, created_at as "createdAt", updated_at as "updatedAt"
    from playground_conversations
    where user_id = ${userId}
      ${like ? db`and (title ilike ${like} or messages::text ilike ${like})` : db``}
    order by updated_at desc
    limit 200`;
}

export async function getConversation(db: Db, userId: string, id: string): Promise<Conversation> {
  const [row] = await db<Conversation[]>`
    select id, title, settings, messages, created_at as "createdAt", updated_at as "updatedAt"
    from playground_conversations where id = ${id} and user_id = ${userId}`;
  if (!row) throw notFound("Conversation");
  return row;
}

export async function createConversation(
  db: Db,
  userId: string,
  input: { title: string; settings: Record<string, unknown>; messages: unknown[] },
): Promise<Conversation> {
  const [row] = await db<Conversation[]>`
    insert into playground_conversations (user_id, title, settings, messages)
    values (${userId}, ${input.title}, ${db.json(input.settings as never)}, ${db.json(input.messages as never)})
    returning id, title, settings, messages, created_at as "createdAt", updated_at as "updatedAt"`;
  return row!;
}

export async function updateConversation(
  db: Db,
  userId: string,
  id: string,
  patch: { title?: string; settings?: Record<string, unknown>; messages?: unknown[] },
): Promise<Conversation> {
  const [row] = await db<Conversation[]>`
    update playground_conversations set
      title = coalesce(${patch.title ?? null}, title),
      settings = coalesce(${patch.settings ? db.json(patch.settings as never) : null}::jsonb, settings),
      messages = coalesce(${patch.messages ? db.json(patch.messages as never) : null}::jsonb, messages)
    where id = ${id} and user_id = ${userId}
    returning id, title, settings, messages, created_at as "createdAt", updated_at as "updatedAt"`;
  if (!row) throw notFound("Conversation");
  return row;
}

export async function deleteConversation(db: Db, userId: string, id: string): Promise<void> {
  const rows =
    await db`delete from playground_conversations where id = ${id} and user_id = ${userId} returning id`;
  if (!rows.length) throw notFound("Conversation");
}
