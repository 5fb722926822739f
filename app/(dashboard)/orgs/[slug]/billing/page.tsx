import type { Metadata } from "next";
import { OrgLedger } from "@/components/orgs/ledger";
import { OrgHeader } from "@/components/orgs/org-header";
import { OrgBanners } from "@/components/orgs/overview";
import { SeatChargesCard } from "@/components/orgs/seat-charges";
import { LowBalanceSettings } from "@/components/orgs/settings-form";
import { AddFundsCard } from "@/components/payments/add-funds-card";
import { RedeemCard } from "@/components/redemptions/redeem-card";
import { Card, CardContent } from "@/components/ui/card";
import { requireUser } from "@/lib/auth/current";
import { LEDGER_LINES_MAX } from "@/lib/billing/ledger";
import { db } from "@/lib/db";
import { asJson, orgLedger } from "@/lib/orgs/overview";
import { listSeatCharges } from "@/lib/orgs/seats";
import { openOrgPage } from "../../page-org";

export const metadata: Metadata = { title: "Organization billing" };
export const dynamic = "force-dynamic";

const PAGE_SIZE = 20;

/** Top-ups and codes for the organization's balance, its statement and its seat fees (owner, billing). */
export default async function OrgBillingPage({
  params,
  searchParams,
}: {
  params: Promise<{ slug: string }>;
  searchParams: Promise<{ page?: string }>;
}) {
  const user = await requireUser();
  const { page, actor } = await openOrgPage(user, (await params).slug);
  const { org, can } = page;
  const asked = Number((await searchParams).page ?? "1");
  // The ledger reaches its newest LEDGER_LINES_MAX entries: a deeper ?page= reads the deepest page it reaches (the
  // statements hold every entry).
  const ledgerPage =
    Number.isInteger(asked) && asked >= 1 ? Math.min(asked, LEDGER_LINES_MAX / PAGE_SIZE) : 1;
  const [ledger, seats] = can.billing
    ? await Promise.all([
        orgLedger(db(), page, { page: ledgerPage, pageSize: PAGE_SIZE }),
        listSeatCharges(db(), actor, org.id, { page: 1, pageSize: 50 }),
      ])
    : [null, null];
  const named = { slug: org.slug, name: org.name };
  return (
    <>
      <OrgHeader
        org={org}
        can={can}
        tab="billing"
        title="Billing"
        description={`Add money to ${org.name}'s balance, and read what it was spent on.`}
      />
      {can.billing && ledger && seats ? (
        <div className="grid grid-cols-1 gap-6">
          <OrgBanners page={page} />
          <div className="grid grid-cols-1 gap-6 lg:grid-cols-2">
            <AddFundsCard org={named} />
            <RedeemCard org={named} />
          </div>
          {/* Owners set it with the other settings; a billing member, who has no settings page, here. */}
          {can.settings ? null : <LowBalanceSettings org={asJson(org)} />}
          <SeatChargesCard seats={seats} />
          <OrgLedger
            items={asJson(ledger.items)}
            page={ledgerPage}
            pages={Math.max(1, Math.ceil(ledger.total / PAGE_SIZE))}
            capped={
              ledger.capped ? { total: ledger.total, statements: `/orgs/${org.slug}/statements` } : undefined
            }
          />
        </div>
      ) : (
        <Card data-testid="org-billing-none">
          <CardContent className="py-8 text-sm text-muted-foreground">
            Top-ups and statements of {org.name} are for its owner and billing members. Ask them to add money
            when the balance runs low.
          </CardContent>
        </Card>
      )}
    </>
  );
}
