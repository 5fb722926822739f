import type { Role, UserStatus } from "@/lib/auth/types";

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  status: UserStatus;
  /** The plan the user is on (null: none), and its name. */
  planId: string | null;
  planName: string | null;
  /** The user's own account (balance, ledger); null only while it is being created. */
  accountId: string | null;
  createdAt: Date;
  updatedAt: Date;
}
