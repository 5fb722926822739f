import "server-only";
import { recordAudit } from "@/lib/audit/record";
import type { Actor } from "@/lib/auth/types";
import { config } from "@/lib/config";
import { type Db, inTransaction } from "@/lib/db/client";
import { AppError } from "@/lib/http/errors";
import { assertAdmin } from "@/lib/users/assert-admin";
import type { BillingSettings } from "./types";

export async function getBillingSettings(db: Db): Promise<BillingSettings> {
  const [row] = await db<Omit<BillingSettings, "cardTopUps">[]>`
    select topup_min_micros as "topupMinMicros", topup_max_micros as "topupMaxMicros",
           topup_presets_micros as "topupPresetsMicros", low_balance_micros as "lowBalanceMicros"
    from billing_settings`;
  const cfg = config();
  return {
    cardTopUps: Boolean(cfg.STRIPE_SECRET_KEY && cfg.STRIPE_WEBHOOK_SECRET),
    ...row!,
    topupPresetsMicros: row!.topupPresetsMicros.map((v) => BigInt(v)),
  };
}

/** Admins set the top-up bounds and presets and the default low-balance threshold; audited. */
export async function updateBillingSettings(
  db: Db,
  actor: Actor,
  input: {
    topupMinMicros?: bigint;
    topupMaxMicros?: bigint;
    topupPresetsMicros?: bigint[];
    lowBalanceMicros?: bigint;
  },
): Promise<BillingSettings> {
  assertAdmin(actor);
  return inTransaction(db, async (tx) => {
    const before = await getBillingSettings(tx);
    const min = input.topupMinMicros ?? before.topupMinMicros;
    const max = input.topupMaxMicros ?? before.topupMaxMicros;
    const presets = input.topupPresetsMicros ?? before.topupPresetsMicros;
    if (max < min || presets.some((p) => p < min || p > max)) {
      throw new AppError(
        "validation_failed",
        "The maximum must be at least the minimum, and presets between them.",
        {
          issues: [{ path: "topupPresetsMicros", message: "between the minimum and the maximum" }],
        },
      );
    }
    await tx`
      update billing_settings set topup_min_micros = ${min}, topup_max_micros = ${max},
        topup_presets_micros = ${tx.array(presets.map(String))}::bigint[],
        low_balance_micros = ${input.lowBalanceMicros ?? before.lowBalanceMicros}`;
    const after = await getBillingSettings(tx);
    await recordAudit(tx, actor, {
      action: "billing.settings",
      targetType: "billing_settings",
      before,
      after,
    });
    return after;
  });
}
