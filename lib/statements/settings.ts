import "server-only";
import { recordAudit } from "@/lib/audit/record";
import type { Actor } from "@/lib/auth/types";
import { type Db, inTransaction } from "@/lib/db/client";
import { assertAdmin } from "@/lib/users/assert-admin";
import type { OperatorSettings, OperatorSettingsBody } from "./schemas";

/** What statements and receipts print about the operator (one row). */
export async function getOperatorSettings(db: Db): Promise<OperatorSettings> {
  const [row] = await db<OperatorSettings[]>`
    select legal_name as "legalName", address, tax_id as "taxId", contact_email as "contactEmail", footer,
           updated_at as "updatedAt"
    from operator_settings`;
  return row!;
}

/** Admins set the operator's legal name, address, tax id, contact email and footer; audited with before and after. */
export async function updateOperatorSettings(
  db: Db,
  actor: Actor,
  input: OperatorSettingsBody,
): Promise<OperatorSettings> {
  assertAdmin(actor);
  return inTransaction(db, async (tx) => {
    const before = await getOperatorSettings(tx);
    const [after] = await tx<OperatorSettings[]>`
      update operator_settings set
        legal_name = ${input.legalName?.trim() ?? before.legalName},
        address = ${input.address?.replace(/\r\n/g, "\n").trim() ?? before.address},
        tax_id = ${input.taxId?.trim() ?? before.taxId},
        contact_email = ${input.contactEmail?.trim().toLowerCase() ?? before.contactEmail},
        footer = ${input.footer?.trim() ?? before.footer}
      returning legal_name as "legalName", address, tax_id as "taxId", contact_email as "contactEmail", footer,
                updated_at as "updatedAt"`;
    const { updatedAt: _b, ...was } = before;
    const { updatedAt: _a, ...now } = after!;
    await recordAudit(tx, actor, {
      action: "operator.settings",
      targetType: "operator_settings",
      before: was,
      after: now,
    });
    return after!;
  });
}
