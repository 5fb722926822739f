import { z } from "zod";

// Statements and receipts: what crosses the wire (no server-only; pages, routes and verbs share it).

/** A UTC month as YYYY-MM (2000-01 to 2999-12). */
export const statementMonth = () =>
  z.string().regex(/^2\d{3}-(0[1-9]|1[0-2])$/, "a UTC month as YYYY-MM, e.g. 2026-11");

export const statementFormat = z.enum(["json", "csv", "pdf"]);
export const statementQuery = z.strictObject({ format: statementFormat.optional() });

/** A receipt's label, e.g. RC-2026-000042. */
export const receiptLabel = () =>
  z.string().regex(/^RC-\d{4}-\d{6,}$/, "a receipt number such as RC-2026-000042");

const text = (max: number) => z.string().max(max);

export const operatorSettingsBody = z
  .strictObject({
    legalName: text(200).optional(),
    /** Several lines, as printed. */
    address: text(1000).optional(),
    taxId: text(100).optional(),
    contactEmail: z.union([z.literal(""), z.email().max(254)]).optional(),
    footer: text(2000).optional(),
  })
  .refine((v) => Object.keys(v).length > 0, "send at least one setting to change");
export type OperatorSettingsBody = z.input<typeof operatorSettingsBody>;

export interface OperatorSettings {
  legalName: string;
  address: string;
  taxId: string;
  contactEmail: string;
  footer: string;
  updatedAt: Date;
}

/** How money came in: a card top-up, a redemption code, an admin's top-up, grant or positive adjustment. */
export type CreditMethod = "card" | "code" | "admin_topup" | "grant" | "plan_credit" | "admin_credit";

/** A credit's method from its ledger transaction's kind and idempotency key. */
export function creditMethodOf(kind: string, idempotencyKey: string): CreditMethod {
  if (kind === "redemption") return "code";
  if (kind === "topup") return idempotencyKey.startsWith("topup:stripe:session:") ? "card" : "admin_topup";
  if (kind === "grant") return idempotencyKey.startsWith("grant:plan:") ? "plan_credit" : "grant";
  return "admin_credit";
}

export const CREDIT_METHOD_LABEL: Record<CreditMethod, string> = {
  card: "Card top-up",
  code: "Redemption code",
  admin_topup: "Top-up by the operator",
  grant: "Credit grant",
  plan_credit: "Plan's monthly credit",
  admin_credit: "Credit adjustment",
};

export interface CreditLine {
  at: Date;
  method: CreditMethod;
  description: string;
  amountMicros: bigint;
  /** The receipt's number (every credit has one). */
  receipt: string | null;
}

export interface ChargeGroup {
  /** The model group, the key's id, or the member's id. */
  id: string;
  label: string;
  calls: number;
  /** Negative: money taken. */
  amountMicros: bigint;
}

export interface SeatFeeLine {
  at: Date;
  /** The member's user id (a closed statement stores it and reads the name when shown). */
  userId?: string | null;
  member: string;
  /** The seat's month, YYYY-MM. */
  seatMonth: string;
  amountMicros: bigint;
}

export type AdjustmentKind = "refund" | "dispute" | "correction" | "late_charges";

export interface AdjustmentLine {
  at: Date;
  kind: AdjustmentKind;
  description: string;
  /** Late charges: the UTC month of the calls they are for (YYYY-MM). */
  originalMonth: string | null;
  calls: number;
  amountMicros: bigint;
}

export interface StatementLines {
  credits: CreditLine[];
  /** The month's calls' charges, three ways: each list sums to chargesMicros. */
  chargesByModel: ChargeGroup[];
  chargesByKey: ChargeGroup[];
  chargesByMember: ChargeGroup[];
  seatFees: SeatFeeLine[];
  adjustments: AdjustmentLine[];
}

export interface Statement extends StatementLines {
  accountId: string;
  /** Who the account is: a person's email or an organization's name. */
  holder: string;
  holderKind: "person" | "organization";
  month: string;
  /** Closed: final and numbered. Open: the current month, or a past one not closed yet (not final). */
  status: "open" | "closed";
  number: string | null;
  closedAt: Date | null;
  periodStart: Date;
  periodEnd: Date;
  openingMicros: bigint;
  creditsMicros: bigint;
  chargesMicros: bigint;
  seatFeesMicros: bigint;
  adjustmentsMicros: bigint;
  closingMicros: bigint;
  calls: number;
}

export interface StatementSummary {
  month: string;
  status: "open" | "closed";
  number: string | null;
  openingMicros: bigint;
  closingMicros: bigint;
}

export interface Receipt {
  label: string;
  number: bigint;
  at: Date;
  method: CreditMethod;
  description: string;
  amountMicros: bigint;
  accountId: string;
  holder: string;
  holderKind: "person" | "organization";
  organizationSlug: string | null;
  /** Stripe's own receipt for a card payment, when Stripe sent it. */
  stripeReceiptUrl: string | null;
  operator: OperatorSettings;
}
