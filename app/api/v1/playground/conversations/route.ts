import { db } from "@/lib/db";
import { parseJson, parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { conversationScope, createConversation, listConversations } from "@/lib/playground/conversations";
import { conversationBody, conversationQuery, conversationScopeQuery } from "@/lib/playground/schemas";

/** The caller's saved playground conversations (search with ?q=), of their own playground or ?org='s. */
export const GET = withSession({}, async ({ req, actor, principal }) => {
  const { q, org } = parseQuery(req, conversationQuery);
  const scope = await conversationScope(db(), { ...actor, userId: principal.userId }, org);
  return json({ items: await listConversations(db(), scope, q) });
});

/** Saves a conversation in the caller's own playground, or with ?org= in that organization's. */
export const POST = withSession({}, async ({ req, actor, principal }) => {
  const { org } = parseQuery(req, conversationScopeQuery);
  const input = await parseJson(req, conversationBody, 1024 * 1024);
  const scope = await conversationScope(db(), { ...actor, userId: principal.userId }, org);
  return json({ conversation: await createConversation(db(), scope, input) }, { status: 201 });
});
