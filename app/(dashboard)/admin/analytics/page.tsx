import type { Metadata } from "next";
import { Suspense } from "react";
import { UsageAnalytics } from "@/components/analytics/usage-analytics";
import { PageHeader } from "@/components/shell/page-header";
import { requireUser } from "@/lib/auth/current";

export const metadata: Metadata = { title: "Usage analytics" };

export default async function AnalyticsPage() {
  await requireUser("admin");
  return (
    <>
      <PageHeader
        title="Usage analytics"
        description="Filter by time (UTC), user, key, model, call kind, outcome, billing and error; the address keeps the view."
      />
      <Suspense>
        <UsageAnalytics />
      </Suspense>
    </>
  );
}
