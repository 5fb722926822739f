import "server-only";
import type { Actor, Role, UserStatus } from "@/lib/auth/types";
import { containsPattern, type Db } from "@/lib/db/client";
import { assertAdmin } from "./assert-admin";
import { userColumns } from "./columns";
import type { User } from "./types";

export interface ListUsersQuery {
  q?: string;
  role?: Role;
  status?: UserStatus;
  page: number;
  pageSize: number;
}

/** Users matching a search over email and name, newest first. */
export async function listUsers(
  db: Db,
  actor: Actor,
  query: ListUsersQuery,
): Promise<{ items: User[]; total: number; page: number; pageSize: number }> {
  assertAdmin(actor);
  const pattern = containsPattern(query.q);
  const where = db`
    where (${pattern}::text is null or email ilike ${pattern} or name ilike ${pattern})
      and (${query.role ?? null}::text is null or role = ${query.role ?? null})
      and (${query.status ?? null}::text is null or status = ${query.status ?? null})`;
  const [items, [count]] = await Promise.all([
    db<User[]>`
      select ${userColumns(db)}
      from users ${where}
      order by created_at desc, id desc
      limit ${query.pageSize} offset ${(query.page - 1) * query.pageSize}`,
    db<{ total: bigint }[]>`select count(*) as total from users ${where}`,
  ]);
  return { items, total: Number(count!.total), page: query.page, pageSize: query.pageSize };
}

export async function getUser(db: Db, actor: Actor, id: string): Promise<User | null> {
  assertAdmin(actor);
  const [user] = await db<User[]>`
    select ${userColumns(db)}
    from users where id = ${id}`;
  return user ?? null;
}
