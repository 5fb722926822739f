import "server-only";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

// The control plane's Prometheus metrics (scraped at /api/metrics with METRICS_TOKEN). One registry per
// process, kept on globalThis so hot reloads do not register twice. Gauges that describe the database (queue,
// holds, settlement) are read when scraped, so every instance reports the same truth.

interface Metrics {
  registry: Registry;
  httpRequests: Counter<"route" | "method" | "status">;
  httpDuration: Histogram<"route" | "method">;
  holds: Counter<"outcome">;
  leaseGrants: Counter<"outcome">;
  usageEvents: Counter<"result">;
  reservationOverruns: Counter;
  reservationOverrunMicros: Counter;
  webhookLag: Histogram;
  queueJobs: Gauge<"state">;
  openHolds: Gauge<"measure">;
  openLeases: Gauge<"measure">;
  lastSettlement: Gauge<"measure">;
  lastRetention: Gauge<"measure">;
}

function create(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "tollgate_" });
  return {
    registry,
    httpRequests: new Counter({
      name: "tollgate_http_requests_total",
      help: "API requests by route, method and status",
      labelNames: ["route", "method", "status"],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: "tollgate_http_request_duration_seconds",
      help: "API request latency by route and method",
      labelNames: ["route", "method"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    holds: new Counter({
      name: "tollgate_holds_total",
      help: "Holds asked for by the gateway, by outcome (placed, replayed, or the refusal's error code)",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    leaseGrants: new Counter({
      name: "tollgate_lease_grants_total",
      help: "Lease grants and top-ups asked for by gateway processes, by outcome (granted, replayed, or the refusal's error code)",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    usageEvents: new Counter({
      name: "tollgate_usage_events_total",
      help: "Usage events received, by what settling them did",
      labelNames: ["result"],
      registers: [registry],
    }),
    reservationOverruns: new Counter({
      name: "tollgate_reservation_overruns_total",
      help: "Calls charged more than they reserved (draw or hold): each one breaks clause 45 and is alarmed",
      registers: [registry],
    }),
    reservationOverrunMicros: new Counter({
      name: "tollgate_reservation_overrun_micros_total",
      help: "Micro-USD charged above their calls' reservations",
      registers: [registry],
    }),
    webhookLag: new Histogram({
      name: "tollgate_webhook_lag_seconds",
      help: "From a call's end (gateway clock) to its usage event being settled",
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600],
      registers: [registry],
    }),
    queueJobs: new Gauge({
      name: "tollgate_queue_jobs",
      help: "Jobs in the queue by state (read when scraped)",
      labelNames: ["state"],
      registers: [registry],
    }),
    openHolds: new Gauge({
      name: "tollgate_open_holds",
      help: "Open holds: how many and the micro-USD they reserve (read when scraped)",
      labelNames: ["measure"],
      registers: [registry],
    }),
    openLeases: new Gauge({
      name: "tollgate_open_leases",
      help: "Live leases (open or closing): how many and the micro-USD they reserve (read when scraped)",
      labelNames: ["measure"],
      registers: [registry],
    }),
    lastSettlement: new Gauge({
      name: "tollgate_last_settlement",
      help: "The last finished settlement run: its duration in seconds and its day as a Unix time (read when scraped)",
      labelNames: ["measure"],
      registers: [registry],
    }),
    lastRetention: new Gauge({
      name: "tollgate_last_retention",
      help: "The last finished retention run: days it refused to drop (alert on > 0), partitions it dropped, when it finished as a Unix time, and failed (1 when it failed: its refused days are then at least the last completed run's) (read when scraped)",
      labelNames: ["measure"],
      registers: [registry],
    }),
  };
}

const holder = globalThis as unknown as { tollgateMetrics?: Metrics };

export function metrics(): Metrics {
  holder.tollgateMetrics ??= create();
  return holder.tollgateMetrics;
}

/** A route label without ids, so series stay few: uuids and numbers become :id. */
export function routeLabel(pathname: string, params: Record<string, string | string[]> = {}): string {
  // Each dynamic segment by its name in the route (/api/v1/invitations/:token/accept): a path's own values — an
  // invitation token, an organization's slug — never become a label (a label is readable by whoever scrapes
  // metrics, and each distinct one is a new series).
  const names = new Map<string, string>();
  for (const [name, value] of Object.entries(params)) {
    for (const part of Array.isArray(value) ? value : value.split("/")) if (part) names.set(part, `:${name}`);
  }
  return pathname
    .split("/")
    .map((segment) => {
      let value = segment;
      try {
        value = decodeURIComponent(segment);
      } catch {}
      return names.get(value) ?? segment;
    })
    .join("/")
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, ":id")
    .replace(/\/\d+(?=\/|$)/g, "/:id");
}
