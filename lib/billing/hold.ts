import "server-only";
import type { Db } from "@/lib/db/client";
import { AppError } from "@/lib/http/errors";
import { formatMicros } from "./money";

export interface HoldRequest {
  keyId: string;
  callId: string;
  /** Unique per gateway request: a retried hold call repeats it; a reused call id does not. */
  nonce: string;
  model: string;
  promptTokens: number;
  /** max_tokens of the request, or null for the model's output cap (capped by it either way). */
  maxOutputTokens: number | null;
  /** n: how many choices the provider generates (and bills); 1 when absent. */
  choices?: number;
  /** Operator-configured fallback groups the call may be served by: the hold covers the dearest. */
  fallbackModels?: string[];
  /**
   * What the call asks for besides tokens, keyed by the contract's unit keys ('asked' units: image, audio in ms — its
   * cap when unknown —, characters …): priced per unit. Absent: none.
   */
  units?: Record<string, number>;
  /** The size and quality the images are asked for (priced at their rate, clause 43; null: the default). */
  imageSize?: string | null;
  imageQuality?: string | null;
  /** The route the app called (usage_events.kind): a model is held only where its price bills it (clause 44). */
  kind?: string;
}

export interface PlacedHold {
  holdId: string;
  amountMicros: bigint;
  outcome: "placed" | "replayed";
  priceVersionId: string;
  maxOutputTokens: number;
  /** Balance minus everything held, this hold included: what is left for other calls. */
  availableMicros: bigint;
}

export interface PgError {
  code?: string;
  message?: string;
  detail?: string;
}

/** place_hold's refusal detail: amounts as exact decimal strings (JSON numbers would round above 2^53). */
interface RefusalDetail {
  scope?: "balance" | "key" | "member" | "account" | "plan" | "seats";
  plan?: string;
  requestsPerDay?: number;
  dayRequests?: number;
  neededMicros?: string;
  balanceMicros?: string;
  heldMicros?: string;
  availableMicros?: string;
  dailyBudgetMicros?: string | null;
  monthlyBudgetMicros?: string | null;
  dayUsedMicros?: string;
  monthUsedMicros?: string;
}

const micros = (value: string | null | undefined): bigint => BigInt(value ?? "0");

function budgetText(d: RefusalDetail): string {
  const parts = [];
  if (d.dailyBudgetMicros != null)
    parts.push(
      `today ${formatMicros(micros(d.dayUsedMicros))} of ${formatMicros(micros(d.dailyBudgetMicros))} used`,
    );
  if (d.monthlyBudgetMicros != null)
    parts.push(
      `this month ${formatMicros(micros(d.monthUsedMicros))} of ${formatMicros(micros(d.monthlyBudgetMicros))} used`,
    );
  return parts.join(", ");
}

/** A lease grant's refusal as the waiting call sees it: the process's lease covers part of it already. */
export interface LeaseCall {
  /** The waiting call's worst case (the grant asked only for what the lease lacks). */
  callMicros: bigint;
  /** What the process's lease still holds undrawn: available to the call, though held on the account. */
  unusedMicros: bigint;
}

/** Sees a lease refusal's amounts from the waiting call: its whole worst case, the lease's unused part available. */
function forCall(detail: RefusalDetail, lease: LeaseCall): RefusalDetail {
  const shifted = { ...detail, neededMicros: lease.callMicros.toString() };
  if (detail.availableMicros != null)
    shifted.availableMicros = (micros(detail.availableMicros) + lease.unusedMicros).toString();
  if (detail.heldMicros != null)
    shifted.heldMicros = (micros(detail.heldMicros) - lease.unusedMicros).toString();
  return shifted;
}

/**
 * Maps the money functions' refusals (custom SQLSTATEs) to the error contract, with the amounts in the message:
 * the one place a refusal's sentence is written, for holds and (with the waiting call) lease grants alike.
 */
export function refusal(error: PgError, lease?: LeaseCall): AppError | null {
  const parsed: RefusalDetail = error.detail ? JSON.parse(error.detail) : {};
  const detail = lease ? forCall(parsed, lease) : parsed;
  switch (error.code) {
    case "TG402": {
      if (detail.scope === "seats") {
        return new AppError(
          "insufficient_balance",
          `This organization's seat fees are unpaid (${formatMicros(micros(detail.neededMicros))} due), so its keys make no new calls. An owner or billing member can top up its balance to pay them and continue.`,
          { scope: "seats", seatsDueMicros: micros(detail.neededMicros) },
        );
      }
      const needed = micros(detail.neededMicros);
      const available = micros(detail.availableMicros);
      return new AppError(
        "insufficient_balance",
        `Insufficient balance: this call may cost up to ${formatMicros(needed)}, but only ${formatMicros(available)} is available (balance ${formatMicros(micros(detail.balanceMicros))}, ${formatMicros(micros(detail.heldMicros))} reserved by calls in progress and gateway leases). Top up to continue.`,
        {
          neededMicros: needed,
          availableMicros: available,
          balanceMicros: micros(detail.balanceMicros),
          heldMicros: micros(detail.heldMicros),
        },
      );
    }
    case "TG429":
      if (detail.scope === "plan") {
        return new AppError(
          "budget_exceeded",
          `Your ${detail.plan} plan allows ${detail.requestsPerDay} requests per day (UTC) and today's are used up. They renew at 00:00 UTC; an administrator can move you to a larger plan.`,
          { scope: "plan", requestsPerDay: detail.requestsPerDay, dayRequests: detail.dayRequests },
        );
      }
      return new AppError(
        "budget_exceeded",
        `${detail.scope === "key" ? "This key's budget" : detail.scope === "member" ? "Your spending cap in this organization" : "Your account's budget"} would be exceeded: this call may cost up to ${formatMicros(micros(detail.neededMicros))}; ${budgetText(detail)}.`,
        { scope: detail.scope, neededMicros: micros(detail.neededMicros) },
      );
    case "TG409":
      return new AppError("conflict", error.message ?? "Call id already used.");
    case "TG403":
      return new AppError("forbidden", error.message ?? "Model not available.");
    case "TG422":
      return new AppError("validation_failed", error.message ?? "Invalid hold request.");
    case "TG410":
      return new AppError("lease_closed", error.message ?? "The lease is no longer open.");
    case "TG401":
      return new AppError("unauthorized", "This API key has been revoked or is not active.");
    default:
      return null;
  }
}

/**
 * Reserves the worst-case price of a call (prompt + n × max output, images at their size and quality, audio and
 * characters — price_worst_case — at the price in force now of the dearest model group the call may reach) in one
 * statement that checks the key's budgets and the account's balance and budgets. Idempotent by (key, call id, nonce).
 */
export async function placeHold(db: Db, req: HoldRequest): Promise<PlacedHold> {
  try {
    const [row] = await db<
      {
        hold_id: string;
        amount_micros: bigint;
        outcome: "placed" | "replayed";
        price_version_id: string;
        max_output_tokens: number;
        available_micros: bigint;
      }[]
    >`select * from place_hold(${req.keyId}, ${req.callId}, ${req.nonce}, ${req.model}, ${req.promptTokens},
                               ${req.maxOutputTokens}, ${req.choices ?? 1}, ${db.array(req.fallbackModels ?? [])}::text[],
                               ${db.json(req.units ?? {})}::jsonb,
                               ${req.imageSize ?? null}, ${req.imageQuality ?? null}, ${req.kind ?? "chat"})`;
    return {
      holdId: row!.hold_id,
      amountMicros: row!.amount_micros,
      outcome: row!.outcome,
      priceVersionId: row!.price_version_id,
      maxOutputTokens: row!.max_output_tokens,
      availableMicros: row!.available_micros,
    };
  } catch (error) {
    const mapped = refusal(error as PgError);
    if (mapped) throw mapped;
    throw error;
  }
}
