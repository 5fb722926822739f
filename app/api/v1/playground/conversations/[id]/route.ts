import { db } from "@/lib/db";
import { parseId, parseJson } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { deleteConversation, getConversation, updateConversation } from "@/lib/playground/conversations";
import { conversationPatch } from "@/lib/playground/schemas";

/** One of the caller's saved conversations (anyone else's is 404). */
export const GET = withSession({}, async ({ params, principal }) =>
  json({ conversation: await getConversation(db(), principal.userId, parseId(params.id, "Conversation")) }),
);

export const PATCH = withSession({}, async ({ req, params, principal }) => {
  const id = parseId(params.id, "Conversation");
  const patch = await parseJson(req, conversationPatch, 1024 * 1024);
  return json({ conversation: await updateConversation(db(), principal.userId, id, patch) });
});

export const DELETE = withSession({}, async ({ params, principal }) => {
  await deleteConversation(db(), principal.userId, parseId(params.id, "Conversation"));
  return new Response(null, { status: 204 });
});
