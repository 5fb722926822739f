import "server-only";
import type { Actor } from "@/lib/auth/types";
import { NOT_SENT_ERRORS } from "@/lib/billing/contract";
import { config } from "@/lib/config";
import type { Db } from "@/lib/db/client";
import { assertAdmin } from "@/lib/users/assert-admin";
import { type GatewayHealth, gatewayHealthAnswer, type ModelHealthRow } from "./schemas";

/**
 * Per model group over the last `hours` before `now`: calls, failures (status failure; a cut stream served), error
 * rate, p50/p95 latency (started → ended) and p50/p95 time to first token (streams that reported one). A range scan of
 * usage_events_started_idx (started_at): no read by model without a time range.
 */
export async function modelHealth(db: Db, actor: Actor, now: Date, hours: number): Promise<ModelHealthRow[]> {
  assertAdmin(actor);
  const rows = await db<
    {
      model_group: string;
      calls: number;
      failures: number;
      latency_p50: number | null;
      latency_p95: number | null;
      ttft_p50: number | null;
      ttft_p95: number | null;
    }[]
  >`
    select model_group, count(*)::int as calls, count(*) filter (where status = 'failure')::int as failures,
           percentile_cont(0.5) within group (order by extract(epoch from ended_at - started_at) * 1000)
             filter (where status <> 'failure') as latency_p50,
           percentile_cont(0.95) within group (order by extract(epoch from ended_at - started_at) * 1000)
             filter (where status <> 'failure') as latency_p95,
           percentile_cont(0.5) within group (order by extract(epoch from first_token_at - started_at) * 1000)
             filter (where first_token_at is not null) as ttft_p50,
           percentile_cont(0.95) within group (order by extract(epoch from first_token_at - started_at) * 1000)
             filter (where first_token_at is not null) as ttft_p95
    from usage_events
    where started_at > ${now}::timestamptz - make_interval(hours => ${hours}) and started_at <= ${now}
      -- A call the gateway never sent reached no model: the platform's or the gateway's trouble, not the model's.
      and (error_class is null or error_class <> all(${NOT_SENT_ERRORS}))
    group by model_group
    order by model_group`;
  const ms = (v: number | null) => (v == null ? null : Math.round(Number(v)));
  return rows.map((r) => ({
    modelGroup: r.model_group,
    calls: r.calls,
    failures: r.failures,
    errorRate: r.calls ? r.failures / r.calls : 0,
    latencyP50Ms: ms(r.latency_p50),
    latencyP95Ms: ms(r.latency_p95),
    ttftP50Ms: ms(r.ttft_p50),
    ttftP95Ms: ms(r.ttft_p95),
  }));
}

/** Which models rest now, as the gateway's breaker sees them (GET /tollgate/routing/health, gateway secret). */
export async function gatewayHealth(
  actor: Actor,
): Promise<{ reachable: true; health: GatewayHealth } | { reachable: false; error: string }> {
  assertAdmin(actor);
  const cfg = config();
  try {
    const res = await fetch(new URL("/tollgate/routing/health", cfg.LITELLM_URL), {
      headers: { authorization: `Bearer ${cfg.GATEWAY_SECRET}` },
      signal: AbortSignal.timeout(3000),
      cache: "no-store",
    });
    if (!res.ok) return { reachable: false, error: `the gateway answered HTTP ${res.status}` };
    return { reachable: true, health: gatewayHealthAnswer.parse(await res.json()) };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { reachable: false, error: `the gateway could not be reached (${reason})` };
  }
}
