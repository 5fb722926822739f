import type { Metadata } from "next";
import { Suspense } from "react";
import { UsageAnalytics } from "@/components/analytics/usage-analytics";
import { PageHeader } from "@/components/shell/page-header";
import { requireUser } from "@/lib/auth/current";

export const metadata: Metadata = { title: "My usage" };

export default async function MyUsagePage() {
  await requireUser();
  return (
    <>
      <PageHeader
        title="My usage"
        description="Your calls over time (UTC): filter by key, model, call kind, outcome and billing; the address keeps the view."
      />
      <Suspense>
        <UsageAnalytics scope="me" />
      </Suspense>
    </>
  );
}
