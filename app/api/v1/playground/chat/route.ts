import type { UIMessage } from "ai";
import { db } from "@/lib/db";
import { parseJson } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { playgroundChat } from "@/lib/playground/chat";
import { playgroundChatBody } from "@/lib/playground/schemas";

export const maxDuration = 120;

/**
 * Streams a chat turn through the gateway with the developer's playground key (the platform manages it): their own
 * account's, or with `org` the organization's, which pays for the turn within their member caps.
 */
export const POST = withSession({}, async ({ req, actor, principal }) => {
  const { messages, ...input } = await parseJson(req, playgroundChatBody, 512 * 1024);
  return playgroundChat(
    db(),
    { ...actor, userId: principal.userId },
    { ...input, messages: messages as unknown as UIMessage[] },
    req.signal,
  );
});
