import "server-only";
import type { Role, UserStatus } from "@/lib/auth/types";
import type { Db } from "@/lib/db/client";

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  status: UserStatus;
  createdAt: Date;
  updatedAt: Date;
}

export const userColumns = (db: Db) =>
  db`id, email, name, role, status, created_at as "createdAt", updated_at as "updatedAt"`;
