import "server-only";
import Stripe from "stripe";
import { type Config, config } from "@/lib/config";

let cached: { key: string; client: Stripe } | undefined;

/** The Stripe client, or null when card top-ups are off (no STRIPE_SECRET_KEY / STRIPE_WEBHOOK_SECRET). */
export function stripeClient(cfg: Config = config()): Stripe | null {
  if (!cfg.STRIPE_SECRET_KEY || !cfg.STRIPE_WEBHOOK_SECRET) return null;
  const key = `${cfg.STRIPE_SECRET_KEY}|${cfg.STRIPE_API_URL ?? ""}`;
  if (cached?.key !== key) {
    const base = cfg.STRIPE_API_URL ? new URL(cfg.STRIPE_API_URL) : null;
    cached = {
      key,
      client: new Stripe(cfg.STRIPE_SECRET_KEY, {
        maxNetworkRetries: 2,
        timeout: 20_000,
        telemetry: false,
        ...(base
          ? {
              host: base.hostname,
              port: base.port || (base.protocol === "https:" ? 443 : 80),
              protocol: base.protocol.replace(":", "") as "http" | "https",
            }
          : {}),
      }),
    };
  }
  return cached.client;
}

export const MICROS_PER_CENT = 10_000n;
