import { db } from "@/lib/db";
import { parseId, parseJson, parseQuery } from "@/lib/http/body";
import type { SessionContext } from "@/lib/http/handler";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import {
  conversationScope,
  deleteConversation,
  getConversation,
  updateConversation,
} from "@/lib/playground/conversations";
import { conversationPatch, conversationScopeQuery } from "@/lib/playground/schemas";

/** The playground the request is in (?org=, or the caller's own): another playground's conversation is 404. */
const scopeOf = ({ req, actor, principal }: SessionContext) =>
  conversationScope(
    db(),
    { ...actor, userId: principal.userId },
    parseQuery(req, conversationScopeQuery).org,
  );

/** One of the caller's saved conversations of this playground (anyone else's, or another playground's, is 404). */
export const GET = withSession({}, async (ctx) => {
  const id = parseId(ctx.params.id, "Conversation");
  return json({ conversation: await getConversation(db(), await scopeOf(ctx), id) });
});

export const PATCH = withSession({}, async (ctx) => {
  const id = parseId(ctx.params.id, "Conversation");
  const scope = await scopeOf(ctx);
  const patch = await parseJson(ctx.req, conversationPatch, 1024 * 1024);
  return json({ conversation: await updateConversation(db(), scope, id, patch) });
});

export const DELETE = withSession({}, async (ctx) => {
  const id = parseId(ctx.params.id, "Conversation");
  await deleteConversation(db(), await scopeOf(ctx), id);
  return new Response(null, { status: 204 });
});
