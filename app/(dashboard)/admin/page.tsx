import type { Metadata } from "next";
import { OverviewPanel } from "@/components/analytics/overview";
import { PageHeader } from "@/components/shell/page-header";
import { requireUser } from "@/lib/auth/current";

export const metadata: Metadata = { title: "Overview" };

export default async function OverviewPage() {
  await requireUser("admin");
  return (
    <>
      <PageHeader
        title="Overview"
        description="Today and the last 30 days: calls, money, errors and what needs a look."
      />
      <OverviewPanel />
    </>
  );
}
