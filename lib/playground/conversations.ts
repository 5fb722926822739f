import "server-only";
import type { Actor } from "@/lib/auth/types";
import type { Db } from "@/lib/db/client";
import { notFound } from "@/lib/http/errors";
import { orgFor } from "@/lib/orgs/access";

/**
 * A saved playground conversation: always one developer's own (every query is scoped to the owner), and kept by the
 * playground it was made in: the person's own (account null) or an organization's (its account), which lists and
 * opens only its own.
 */
export interface Conversation {
  id: string;
  title: string;
  settings: Record<string, unknown>;
  messages: unknown[];
  createdAt: Date;
  updatedAt: Date;
}

export type ConversationSummary = Omit<Conversation, "messages" | "settings"> & { turns: number };

/** Whose conversations a request reads and writes: the developer's, in their own playground or an organization's. */
export interface ConversationScope {
  userId: string;
  /** The organization's account; null: the person's own playground. */
  accountId: string | null;
}

/**
 * The scope of the playground the actor is in: without an organization their own; with one (slug or id), that
 * organization's, for a role that uses its playground (404 to outsiders, 403 to billing members, as the chat route).
 */
export async function conversationScope(
  db: Db,
  actor: Actor & { userId: string },
  org?: string | null,
): Promise<ConversationScope> {
  if (org == null) return { userId: actor.userId, accountId: null };
  const organization = await orgFor(db, actor, org, "spend");
  return { userId: actor.userId, accountId: organization.accountId };
}

const scoped = (db: Db, scope: ConversationScope) =>
  db`user_id = ${scope.userId} and ${scope.accountId === null ? db`account_id is null` : db`account_id = ${scope.accountId}`}`;

/** The scope's conversations, newest first; q searches titles and message text (case-insensitive). */
export async function listConversations(
  db: Db,
  scope: ConversationScope,
  q?: string,
): Promise<ConversationSummary[]> {
  const like = q ? `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
  return db<ConversationSummary[]>`
    select id, title, jsonb_array_length(messages)::int as turns, created_at as "createdAt", updated_at as "updatedAt"
    from playground_conversations
    where ${scoped(db, scope)}
      ${like ? db`and (title ilike ${like} or messages::text ilike ${like})` : db``}
    order by updated_at desc
    limit 200`;
}

export async function getConversation(db: Db, scope: ConversationScope, id: string): Promise<Conversation> {
  const [row] = await db<Conversation[]>`
    select id, title, settings, messages, created_at as "createdAt", updated_at as "updatedAt"
    from playground_conversations where id = ${id} and ${scoped(db, scope)}`;
  if (!row) throw notFound("Conversation");
  return row;
}

export async function createConversation(
  db: Db,
  scope: ConversationScope,
  input: { title: string; settings: Record<string, unknown>; messages: unknown[] },
): Promise<Conversation> {
  const [row] = await db<Conversation[]>`
    insert into playground_conversations (user_id, account_id, title, settings, messages)
    values (${scope.userId}, ${scope.accountId}, ${input.title}, ${db.json(input.settings as never)},
            ${db.json(input.messages as never)})
    returning id, title, settings, messages, created_at as "createdAt", updated_at as "updatedAt"`;
  return row!;
}

export async function updateConversation(
  db: Db,
  scope: ConversationScope,
  id: string,
  patch: { title?: string; settings?: Record<string, unknown>; messages?: unknown[] },
): Promise<Conversation> {
  const [row] = await db<Conversation[]>`
    update playground_conversations set
      title = coalesce(${patch.title ?? null}, title),
      settings = coalesce(${patch.settings ? db.json(patch.settings as never) : null}::jsonb, settings),
      messages = coalesce(${patch.messages ? db.json(patch.messages as never) : null}::jsonb, messages)
    where id = ${id} and ${scoped(db, scope)}
    returning id, title, settings, messages, created_at as "createdAt", updated_at as "updatedAt"`;
  if (!row) throw notFound("Conversation");
  return row;
}

export async function deleteConversation(db: Db, scope: ConversationScope, id: string): Promise<void> {
  const rows =
    await db`delete from playground_conversations where id = ${id} and ${scoped(db, scope)} returning id`;
  if (!rows.length) throw notFound("Conversation");
}
