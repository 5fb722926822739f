import type { Metadata } from "next";
import { Suspense } from "react";
import { RequestLog } from "@/components/analytics/request-log";
import { PageHeader } from "@/components/shell/page-header";
import { requireUser } from "@/lib/auth/current";
import { openOrgPage } from "../../orgs/page-org";

export const metadata: Metadata = { title: "My calls" };

/** "My calls": the person's own, or with ?org=<slug> (the header's switcher) the organization's they may see. */
export default async function MyRequestsPage({ searchParams }: { searchParams: Promise<{ org?: string }> }) {
  const user = await requireUser();
  const { org: ref } = await searchParams;
  const org = ref ? (await openOrgPage(user, ref)).page : null;
  return (
    <>
      <PageHeader
        title={org ? `Calls · ${org.org.name}` : "My calls"}
        description={
          org
            ? `${org.can.seeAllUsage ? "Every member's calls" : "Your calls"} paid by ${org.org.name} and what each was charged; export the filtered calls as CSV. Click a call for its details.`
            : "Every call made with your keys and what it was charged; export the filtered calls as CSV. Click a call for its details."
        }
      />
      <Suspense>
        <RequestLog scope="me" />
      </Suspense>
    </>
  );
}
