import "server-only";
import type { Actor } from "@/lib/auth/types";
import { actsAsPlatformAdmin } from "@/lib/auth/visibility";
import type { Db } from "@/lib/db/client";
import { notFound } from "@/lib/http/errors";
import { ORG_VERBS } from "@/lib/orgs/access";
import { creditMethodOf, type Receipt } from "./schemas";
import { getOperatorSettings } from "./settings";

interface ReceiptRow extends Omit<Receipt, "method" | "operator"> {
  kind: string;
  idempotencyKey: string;
}

/**
 * A receipt by its number, for whoever may see its account: the person it credited, an organization's owner, admin
 * or billing member, a platform admin. Anyone else gets 404, as for a number that does not exist.
 */
export async function getReceipt(db: Db, actor: Actor, label: string): Promise<Receipt> {
  const admin = actsAsPlatformAdmin(actor);
  const [row] = await db<ReceiptRow[]>`
    select r.label, r.number, r.created_at as at, r.kind, t.idempotency_key as "idempotencyKey",
           t.reason as description, r.amount_micros as "amountMicros", r.account_id as "accountId",
           coalesce(o.name, u.email) as holder,
           case when a.kind = 'team' then 'organization' else 'person' end as "holderKind",
           o.slug as "organizationSlug",
           (select p.stripe_receipt_url from payments p
            where t.idempotency_key = 'topup:stripe:session:' || p.stripe_session_id) as "stripeReceiptUrl"
    from receipts r
    join ledger_transactions t on t.id = r.transaction_id
    join accounts a on a.id = r.account_id
    left join users u on u.id = a.owner_user_id
    left join organizations o on o.id = a.organization_id
    where r.label = ${label}
      and (${admin} or a.owner_user_id = ${actor.userId} or exists (
        select 1 from organization_members m where m.organization_id = a.organization_id and m.user_id = ${actor.userId}
          and m.role = any(${db.array([...ORG_VERBS.statements])}::text[])))`;
  if (!row) throw notFound("The receipt");
  const { kind, idempotencyKey, ...rest } = row;
  return { ...rest, method: creditMethodOf(kind, idempotencyKey), operator: await getOperatorSettings(db) };
}
