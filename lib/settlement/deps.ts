import "server-only";
import { config } from "@/lib/config";
import { gatewayReplay } from "./replay";

/** The settlement's wiring from configuration. */
export function settlementOptions() {
  const cfg = config();
  return {
    replay: gatewayReplay({ litellmUrl: cfg.LITELLM_URL, gatewaySecret: cfg.GATEWAY_SECRET }),
    policy: cfg.SETTLEMENT_STALE_HOLD_POLICY,
    graceMinutes: cfg.SETTLEMENT_GRACE_MINUTES,
    chunkAccounts: cfg.SETTLEMENT_CHUNK_ACCOUNTS,
  };
}
