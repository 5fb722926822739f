import "server-only";
import type { Db } from "@/lib/db/client";

export interface Health {
  status: "ok" | "degraded";
  db: { ok: boolean; latencyMs: number | null; error?: string };
}

/** Reachability of the parts the control plane depends on; never throws. */
export async function checkHealth(db: Db): Promise<Health> {
  const started = performance.now();
  try {
    await db`select 1`;
    return { status: "ok", db: { ok: true, latencyMs: Math.round(performance.now() - started) } };
  } catch (error) {
    const code = (error as { code?: string }).code ?? "unreachable";
    return { status: "degraded", db: { ok: false, latencyMs: null, error: code } };
  }
}
