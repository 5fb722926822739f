import type { Metadata } from "next";
import { Suspense } from "react";
import { UsageAnalytics } from "@/components/analytics/usage-analytics";
import { PageHeader } from "@/components/shell/page-header";
import { requireUser } from "@/lib/auth/current";
import { openOrgPage } from "../../orgs/page-org";

export const metadata: Metadata = { title: "My usage" };

/** "My usage": the person's own calls, or with ?org=<slug> (the header's switcher) the organization's they may see. */
export default async function MyUsagePage({ searchParams }: { searchParams: Promise<{ org?: string }> }) {
  const user = await requireUser();
  const { org: ref } = await searchParams;
  const org = ref ? (await openOrgPage(user, ref)).page : null;
  return (
    <>
      <PageHeader
        title={org ? `Usage · ${org.org.name}` : "My usage"}
        description={
          org
            ? `${org.can.seeAllUsage ? "Every member's calls" : "Your calls"} paid by ${org.org.name}, over time (UTC): filter by key, model, call kind, outcome and billing; the address keeps the view.`
            : "Your calls over time (UTC): filter by key, model, call kind, outcome and billing; the address keeps the view."
        }
      />
      <Suspense>
        <UsageAnalytics scope="me" />
      </Suspense>
    </>
  );
}
