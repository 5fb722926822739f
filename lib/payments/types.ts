export type PaymentStatus =
  | "pending"
  | "paid"
  | "expired"
  | "failed"
  | "refunded"
  | "partially_refunded"
  | "disputed";

export interface Payment {
  id: string;
  accountId: string;
  userEmail: string | null;
  status: PaymentStatus;
  amountMicros: bigint;
  paidMicros: bigint;
  refundedMicros: bigint;
  currency: string;
  stripeSessionId: string | null;
  stripePaymentIntentId: string | null;
  failureReason: string | null;
  createdAt: Date;
  completedAt: Date | null;
}

export interface BillingSettings {
  /** Whether Stripe is configured (STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET). */
  cardTopUps: boolean;
  topupMinMicros: bigint;
  topupMaxMicros: bigint;
  topupPresetsMicros: bigint[];
  lowBalanceMicros: bigint;
}
