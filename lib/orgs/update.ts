import "server-only";
import { recordAudit } from "@/lib/audit/record";
import type { Actor } from "@/lib/auth/types";
import { actsAsPlatformAdmin } from "@/lib/auth/visibility";
import { type Db, inTransaction } from "@/lib/db/client";
import { AppError, forbidden } from "@/lib/http/errors";
import { assertModelsExist } from "@/lib/keys/access";
import { type OrgVerb, orgAllows, orgFor } from "./access";
import { selectOrg } from "./read";
import { enqueueSeatsAfterReinstatement } from "./seats";
import type { Org } from "./types";

export interface UpdateOrgInput {
  name?: string;
  dailyBudgetMicros?: bigint | null;
  monthlyBudgetMicros?: bigint | null;
  allowedModels?: string[];
  lowBalanceMicros?: bigint | null;
  planId?: string | null;
  status?: "active" | "suspended";
}

/** The verb each field needs: settings for name, budgets and models; billing for the low-balance threshold. */
const FIELD_VERB: Record<Exclude<keyof UpdateOrgInput, "planId" | "status">, OrgVerb> = {
  name: "settings",
  dailyBudgetMicros: "settings",
  monthlyBudgetMicros: "settings",
  allowedModels: "settings",
  lowBalanceMicros: "billing",
};

const keep = <T>(value: T | undefined, current: T): T => (value === undefined ? current : value);

/**
 * Changes an organization's settings: name, budgets and models (settings verb), low-balance threshold (billing
 * verb), plan and status (platform admins; a reinstatement enqueues the month's seats its suspension skipped). One
 * transaction, audited. Budgets, models, plan and status are in the gateway's lease epoch (lib/keys/verify.ts), so a
 * lease sized under the old ones is dropped within the auth TTL.
 */
export async function updateOrg(db: Db, actor: Actor, ref: string, input: UpdateOrgInput): Promise<Org> {
  return inTransaction(db, async (tx) => {
    const ctx = await orgFor(tx, actor, ref, "view");
    const admin = actsAsPlatformAdmin(actor);
    if ((input.planId !== undefined || input.status !== undefined) && !admin) {
      throw forbidden("Only platform administrators change an organization's plan or status.");
    }
    for (const [field, verb] of Object.entries(FIELD_VERB)) {
      if (input[field as keyof typeof FIELD_VERB] !== undefined && !orgAllows(ctx, verb, admin)) {
        throw forbidden(`Your role in ${ctx.name} (${ctx.role}) does not allow changing ${field}.`);
      }
    }
    if (input.allowedModels) await assertModelsExist(tx, input.allowedModels);
    if (input.planId) {
      const [plan] = await tx`select 1 from plans where id = ${input.planId}`;
      if (!plan) {
        throw new AppError("validation_failed", "Invalid request body: planId: no such plan", {
          issues: [{ path: "planId", message: "no such plan" }],
        });
      }
    }
    await tx`select 1 from organizations where id = ${ctx.id} for update`;
    const before = (await selectOrg(tx, ctx.id, actor.userId))!;
    await tx`
      update organizations set name = ${keep(input.name, before.name)}, status = ${keep(input.status, before.status)}
      where id = ${ctx.id}`;
    const account = before.account;
    await tx`
      update accounts set
        daily_budget_micros = ${keep(input.dailyBudgetMicros, account.dailyBudgetMicros)},
        monthly_budget_micros = ${keep(input.monthlyBudgetMicros, account.monthlyBudgetMicros)},
        allowed_models = ${tx.array(keep(input.allowedModels, account.allowedModels))},
        low_balance_micros = ${keep(input.lowBalanceMicros, account.ownLowBalanceMicros)},
        plan_id = ${keep(input.planId, account.planId)}
      where id = ${account.id}`;
    // Reinstated: the seats its suspension skipped this month are charged by the queue.
    if (before.status === "suspended" && input.status === "active") {
      await enqueueSeatsAfterReinstatement(tx, ctx.id);
    }
    const after = (await selectOrg(tx, ctx.id, actor.userId))!;
    await recordAudit(tx, actor, {
      action: "org.update",
      targetType: "organization",
      targetId: ctx.id,
      before: settingsOf(before),
      after: settingsOf(after),
    });
    return after;
  });
}

/** What an organization's audit entries record of it. */
function settingsOf(org: Org) {
  return {
    name: org.name,
    status: org.status,
    dailyBudgetMicros: org.account.dailyBudgetMicros,
    monthlyBudgetMicros: org.account.monthlyBudgetMicros,
    allowedModels: org.account.allowedModels,
    lowBalanceMicros: org.account.ownLowBalanceMicros,
    planId: org.account.planId,
  };
}
