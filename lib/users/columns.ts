import "server-only";
import type { Db } from "@/lib/db/client";

/** The columns of a User. */
export const userColumns = (db: Db) =>
  db`id, email, name, role, status, created_at as "createdAt", updated_at as "updatedAt"`;
