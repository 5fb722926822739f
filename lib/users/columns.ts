import "server-only";
import type { Db } from "@/lib/db/client";

/** The columns of a User, from `users` unaliased (select, or an insert's/update's returning). */
export const userColumns = (db: Db) =>
  db`id, email, coalesce(name, '') as name, role, status, plan_id as "planId",
     (select p.name from plans p where p.id = users.plan_id) as "planName",
     (select a.id from accounts a where a.owner_user_id = users.id) as "accountId",
     created_at as "createdAt", updated_at as "updatedAt"`;
