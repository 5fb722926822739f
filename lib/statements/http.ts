import "server-only";
import type { Actor } from "@/lib/auth/types";
import type { Db } from "@/lib/db/client";
import { parseQuery } from "@/lib/http/body";
import { AppError } from "@/lib/http/errors";
import { attachment, json } from "@/lib/http/respond";
import { statementCsv, statementFileName, statementPdf } from "./documents";
import { listStatements, type StatementScope, statementFor } from "./read";
import { statementMonth, statementQuery } from "./schemas";
import { getOperatorSettings } from "./settings";

// The statement routes of the three areas (a person's own, an organization's, an admin's view of any account) differ
// only in the scope they name: one answer for all.

export async function statementsListResponse(db: Db, actor: Actor, scope: StatementScope): Promise<Response> {
  return json({ items: await listStatements(db, actor, scope) });
}

/** One month's statement: JSON, or ?format=csv / ?format=pdf as a download. */
export async function statementResponse(
  db: Db,
  actor: Actor,
  scope: StatementScope,
  req: Request,
  monthParam: string | undefined,
): Promise<Response> {
  const month = statementMonth().safeParse(monthParam);
  if (!month.success) throw new AppError("not_found", "A statement for that month was not found.");
  const { format = "json" } = parseQuery(req, statementQuery);
  const statement = await statementFor(db, actor, scope, month.data);
  if (format === "csv") {
    return attachment(
      statementCsv(statement),
      statementFileName(statement, "csv"),
      "text/csv; charset=utf-8",
    );
  }
  if (format === "pdf") {
    const pdf = await statementPdf(statement, await getOperatorSettings(db), new Date());
    return attachment(Buffer.from(pdf), statementFileName(statement, "pdf"), "application/pdf");
  }
  return json({ statement });
}
