import type { UsageEvent } from "@/lib/billing/settle";

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
    const body = (await res.json()) as { events?: UsageEvent[] };
    return body.events ?? [];
  };
}
