export interface RedemptionBatch {
  id: string;
  amountMicros: bigint;
  codeCount: number;
  redeemedCount: number;
  expiresAt: Date | null;
  note: string;
  createdByEmail: string | null;
  createdAt: Date;
}

export interface Redemption {
  prefix: string;
  redeemedAt: Date;
  userEmail: string | null;
}
