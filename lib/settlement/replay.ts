import { z } from "zod";
import { type UsageEvent, usageEvent } from "@/lib/billing/schemas";

// The gateway's answer, checked with the same schema as the usage webhook: a replayed event is settled alike.
const replayAnswer = z.object({ events: z.array(usageEvent).max(100) });

export type Replay = (keyId: string, callId: string) => Promise<UsageEvent[]>;

/**
 * Asks the gateway's outbox for the events it stored for a call (gateway secret). Throws when the gateway
 * cannot be reached, so the settlement job retries instead of deciding without it.
 */
export function gatewayReplay({
  litellmUrl,
  gatewaySecret,
}: {
  litellmUrl: string;
  gatewaySecret: string;
}): Replay {
  return async (keyId, callId) => {
    const url = new URL("/tollgate/outbox/events", litellmUrl);
    url.searchParams.set("keyId", keyId);
    url.searchParams.set("callId", callId);
    const res = await fetch(url, {
      headers: { authorization: `Bearer ${gatewaySecret}` },
      signal: AbortSignal.timeout(5000),
    });
    if (!res.ok) throw new Error(`gateway replay answered HTTP ${res.status}`);
    const parsed = replayAnswer.safeParse(await res.json());
    if (!parsed.success) throw new Error(`gateway replay answered an invalid shape: ${parsed.error.message}`);
    return parsed.data.events;
  };
}
