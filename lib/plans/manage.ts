import "server-only";
import { recordAudit } from "@/lib/audit/record";
import type { Actor } from "@/lib/auth/types";
import { creditAccount } from "@/lib/billing/ledger";
import { type Db, inTransaction } from "@/lib/db/client";
import { conflict, notFound } from "@/lib/http/errors";
import { assertModelsExist } from "@/lib/keys/access";
import { assertAdmin } from "@/lib/users/assert-admin";
import type { PlanInput } from "./schemas";
import type { Plan } from "./types";

const planColumns = (db: Db) => db`
  p.id, p.name, p.description, p.requests_per_day as "requestsPerDay", p.rpm_limit as "rpmLimit",
  p.tpm_limit as "tpmLimit", p.daily_budget_micros as "dailyBudgetMicros",
  p.monthly_budget_micros as "monthlyBudgetMicros", p.allowed_models as "allowedModels",
  p.monthly_grant_micros as "monthlyGrantMicros", p.seat_price_micros as "seatPriceMicros",
  p.byok_fee_bps as "byokFeeBps", p.byok_fee_request_micros as "byokFeeRequestMicros",
  (select count(*)::int from users u where u.plan_id = p.id) as users,
  (select count(*)::int from accounts a where a.plan_id = p.id) as organizations`;

/** Every plan, for admins (the plan of a user is shown to that user with their account). */
export async function listPlans(db: Db, actor: Actor): Promise<Plan[]> {
  assertAdmin(actor);
  return db<Plan[]>`select ${planColumns(db)} from plans p order by p.name`;
}

export async function getPlan(db: Db, id: string): Promise<Plan | null> {
  const [plan] = await db<Plan[]>`select ${planColumns(db)} from plans p where p.id = ${id}`;
  return plan ?? null;
}

async function nameTaken<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if ((error as { constraint_name?: string }).constraint_name === "plans_name_key")
      throw conflict("A plan with this name already exists.");
    throw error;
  }
}

export async function createPlan(db: Db, actor: Actor, input: PlanInput): Promise<Plan> {
  assertAdmin(actor);
  return nameTaken(() =>
    inTransaction(db, async (tx) => {
      await assertModelsExist(tx, input.allowedModels);
      const [row] = await tx<{ id: string }[]>`
        insert into plans (name, description, requests_per_day, rpm_limit, tpm_limit, daily_budget_micros,
                           monthly_budget_micros, allowed_models, monthly_grant_micros, seat_price_micros,
                           byok_fee_bps, byok_fee_request_micros)
        values (${input.name}, ${input.description}, ${input.requestsPerDay}, ${input.rpmLimit}, ${input.tpmLimit},
                ${input.dailyBudgetMicros}, ${input.monthlyBudgetMicros}, ${tx.array(input.allowedModels)},
                ${input.monthlyGrantMicros}, ${input.seatPriceMicros}, ${input.byokFeeBps},
                ${input.byokFeeRequestMicros})
        returning id`;
      const plan = (await getPlan(tx, row!.id))!;
      await recordAudit(tx, actor, {
        action: "plan.create",
        targetType: "plan",
        targetId: plan.id,
        after: plan,
      });
      return plan;
    }),
  );
}

/**
 * Changes a plan; every key of its users and organizations gets the new limits within the gateway's auth cache TTL.
 * A new seat price is charged from the next seat charged (the next month's, or a member's who joins).
 */
export async function updatePlan(db: Db, actor: Actor, id: string, input: Partial<PlanInput>): Promise<Plan> {
  assertAdmin(actor);
  return nameTaken(() =>
    inTransaction(db, async (tx) => {
      const before = await getPlan(tx, id);
      if (!before) throw notFound("Plan");
      if (input.allowedModels) await assertModelsExist(tx, input.allowedModels);
      const pick = <K extends keyof PlanInput>(key: K) =>
        input[key] !== undefined ? input[key] : before[key];
      await tx`
        update plans set name = ${pick("name")}, description = ${pick("description")},
          requests_per_day = ${pick("requestsPerDay")}, rpm_limit = ${pick("rpmLimit")}, tpm_limit = ${pick("tpmLimit")},
          daily_budget_micros = ${pick("dailyBudgetMicros")}, monthly_budget_micros = ${pick("monthlyBudgetMicros")},
          allowed_models = ${tx.array(pick("allowedModels"))}, monthly_grant_micros = ${pick("monthlyGrantMicros")},
          seat_price_micros = ${pick("seatPriceMicros")}, byok_fee_bps = ${pick("byokFeeBps")},
          byok_fee_request_micros = ${pick("byokFeeRequestMicros")}
        where id = ${id}`;
      const after = (await getPlan(tx, id))!;
      await recordAudit(tx, actor, {
        action: "plan.update",
        targetType: "plan",
        targetId: id,
        before,
        after,
      });
      return after;
    }),
  );
}

/**
 * Credits each account whose owner's plan has a monthly grant, once per UTC month (idempotency key per account
 * and month), as a `grant` in the ledger. Run daily by the cron; a second run in a month changes nothing. People's
 * accounts only: an organization starts on its owner's plan, so granting to organizations' accounts would let one
 * developer multiply the credit by creating organizations.
 */
export async function grantMonthlyCredits(
  db: Db,
  actor: Actor,
  now = new Date(),
): Promise<{ granted: number; grantedMicros: bigint }> {
  const month = now.toISOString().slice(0, 7);
  const due = await db<{ accountId: string; planName: string; amountMicros: bigint }[]>`
    select a.id as "accountId", p.name as "planName", p.monthly_grant_micros as "amountMicros"
    from users u join plans p on p.id = u.plan_id join accounts a on a.owner_user_id = u.id
    where u.status = 'active' and coalesce(p.monthly_grant_micros, 0) > 0
      and not exists (select 1 from ledger_transactions t where t.idempotency_key = 'grant:plan:' || a.id || ':' || ${month})`;
  let grantedMicros = 0n;
  for (const row of due) {
    const { replayed } = await creditAccount(db, actor, {
      accountId: row.accountId,
      amountMicros: row.amountMicros,
      kind: "grant",
      reason: `${row.planName} plan: monthly credit for ${month}`,
      idempotencyKey: `plan:${row.accountId}:${month}`,
    });
    if (!replayed) grantedMicros += row.amountMicros;
  }
  return { granted: due.length, grantedMicros };
}
