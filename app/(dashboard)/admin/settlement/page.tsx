import type { Metadata } from "next";
import { SettlementPanel } from "@/components/settlement/settlement-panel";
import { PageHeader } from "@/components/shell/page-header";
import { requireUser } from "@/lib/auth/current";

export const metadata: Metadata = { title: "Settlement" };

export default async function SettlementPage() {
  await requireUser("admin");
  return (
    <>
      <PageHeader
        title="Settlement"
        description="The daily reconciliation: holds without usage events, orphans, overage, roll-ups and the ledger invariants."
      />
      <SettlementPanel />
    </>
  );
}
