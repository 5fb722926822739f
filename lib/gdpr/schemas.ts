import { z } from "zod";

/** An admin erases a user by typing the user's email (the confirmation the dialog asks for). */
export const eraseUserBody = z.strictObject({
  confirmEmail: z.string().trim().min(3).max(254),
});
export type EraseUserBody = z.infer<typeof eraseUserBody>;

/** What an erasure did (counts only: the answer names nobody). */
export interface ErasureResult {
  userId: string;
  /** False when the user had already been erased: the second erasure changes nothing. */
  erased: boolean;
  alreadyErased: boolean;
  pseudonym: string;
  keysRevoked: number;
  sessionsDeleted: number;
  membershipsEnded: number;
  organizationsLeftEmpty: number;
  invitationsDeleted: number;
  conversationsDeleted: number;
  notificationsRedacted: number;
  auditEntriesPseudonymized: number;
  /** The balance stays on the pseudonymized account (the ledger is append-only and still sums to it). */
  balanceMicros: bigint;
}
