import type { Metadata } from "next";
import { PlansPanel } from "@/components/plans/plans-panel";
import { PageHeader } from "@/components/shell/page-header";
import { requireUser } from "@/lib/auth/current";

export const metadata: Metadata = { title: "Plans" };

export default async function PlansPage() {
  await requireUser("admin");
  return (
    <>
      <PageHeader
        title="Plans"
        description="Tiers of limits, budgets, models and seat prices, applied to users and organizations."
      />
      <PlansPanel />
    </>
  );
}
