import { creditAccount } from "@/lib/billing/ledger";
import { creditBody } from "@/lib/billing/schemas";
import { db } from "@/lib/db";
import { parseId, parseJson } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";

/** Top-up, grant or adjustment: one balanced ledger transaction, idempotent by idempotencyKey, audited. */
export const POST = withSession({ role: "admin" }, async ({ req, params, actor }) => {
  const accountId = parseId(params.id, "Account");
  const input = await parseJson(req, creditBody);
  const { account, replayed } = await creditAccount(db(), actor, { ...input, accountId });
  return json({ account, replayed }, { status: replayed ? 200 : 201 });
});
