import "server-only";
import { notFound } from "next/navigation";
import type { Principal } from "@/lib/auth";
import type { Actor } from "@/lib/auth/types";
import { db } from "@/lib/db";
import { AppError } from "@/lib/http/errors";
import { listStatements, type StatementScope, statementFor } from "@/lib/statements/read";
import { getReceipt } from "@/lib/statements/receipts";
import { statementMonth } from "@/lib/statements/schemas";

// The statement and receipt pages of every area read through the same verbs as the API; anything the signed-in
// person may not see, or that does not exist, is the 404 page.

const actorOf = (user: Principal): Actor => ({ userId: user.userId, kind: "user", role: user.role });

async function orNotFound<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof AppError && error.code === "not_found") notFound();
    throw error;
  }
}

export const openStatements = (user: Principal, scope: StatementScope) =>
  orNotFound(() => listStatements(db(), actorOf(user), scope));

export function openStatement(user: Principal, scope: StatementScope, month: string) {
  if (!statementMonth().safeParse(month).success) notFound();
  return orNotFound(() => statementFor(db(), actorOf(user), scope, month));
}

export const openReceipt = (user: Principal, label: string) =>
  orNotFound(() => getReceipt(db(), actorOf(user), decodeURIComponent(label)));
