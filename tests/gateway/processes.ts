// More gateway processes beside a stack's own (tests/gateway/helpers.ts startGatewayStack): LiteLLM with the Tollgate
// plugin in front of the same platform and fake upstream, each with its own outbox, as a second worker or replica is
// deployed. Used by the tests that drive several processes on leases (leases.test.ts, organizations.test.ts).
import path from "node:path";
import { liteLLMSpec } from "@/scripts/stack/gateway";
import type { ProcessGroup, Running } from "@/scripts/stack/processes";
import { TEST_GATEWAY_SECRET, TEST_MASTER_KEY, TEST_WEBHOOK_SECRET } from "../stack/start";
import type { GatewayContext } from "./helpers";

/** Starts another gateway process on `port` in `group`; `outbox` names its SQLite outbox under .data/. */
export function startAnotherGateway(
  ctx: GatewayContext,
  group: ProcessGroup,
  { port, outbox, env = {} }: { port: number; outbox: string; env?: Record<string, string> },
): Promise<Running> {
  return group.start({
    ...liteLLMSpec({
      root: process.cwd(),
      port,
      platformUrl: ctx.stack.appUrl,
      gatewaySecret: TEST_GATEWAY_SECRET,
      webhookSecret: TEST_WEBHOOK_SECRET,
      outboxPath: path.join(process.cwd(), `.data/${outbox}.db`),
      masterKey: TEST_MASTER_KEY,
      upstreamUrl: ctx.stack.upstreamUrl!,
      env,
    }),
    name: `litellm-${port}`,
  });
}

/** Stops a process started with startAnotherGateway (its whole process group) and waits until it has exited. */
export async function stopGateway(run: Running, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (run.child.exitCode === null && run.child.pid) {
    try {
      process.kill(-run.child.pid, signal);
    } catch {}
  }
  await run.exited;
}

/** A gateway process's lease counters (GET /tollgate/leases/stats, operator only). */
export async function leaseStats(base: string) {
  const res = await fetch(`${base}/tollgate/leases/stats`, {
    headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
  });
  return (await res.json()) as { draws: number; roundTrips: number; refused: number; leases: number };
}

/** A gateway process's key-check counters (GET /tollgate/auth/stats, operator only): platform requests, calls that
 * waited for an answer, reloads ahead of expiry, and the answers shared through Redis. */
export async function authStats(base: string) {
  const res = await fetch(`${base}/tollgate/auth/stats`, {
    headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
  });
  return (await res.json()) as {
    platformCalls: number;
    localMisses: number;
    refreshes: number;
    graceHits: number;
    shared: { hits: number; misses: number; errors: number } | null;
  };
}
