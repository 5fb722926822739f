import { db } from "@/lib/db";
import { parseJson, parseQuery } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { createConversation, listConversations } from "@/lib/playground/conversations";
import { conversationBody, conversationQuery } from "@/lib/playground/schemas";

/** The caller's saved playground conversations (search with ?q=). */
export const GET = withSession({}, async ({ req, principal }) => {
  const { q } = parseQuery(req, conversationQuery);
  return json({ items: await listConversations(db(), principal.userId, q) });
});

export const POST = withSession({}, async ({ req, principal }) => {
  const input = await parseJson(req, conversationBody, 1024 * 1024);
  return json({ conversation: await createConversation(db(), principal.userId, input) }, { status: 201 });
});
