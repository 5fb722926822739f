import type { Metadata } from "next";
import { Suspense } from "react";
import { RequestLog } from "@/components/analytics/request-log";
import { PageHeader } from "@/components/shell/page-header";
import { requireUser } from "@/lib/auth/current";

export const metadata: Metadata = { title: "Request log" };

export default async function RequestsPage() {
  await requireUser("admin");
  return (
    <>
      <PageHeader
        title="Request log"
        description="Every call the gateway reported, with what it cost and how it was billed. Click a call for its details."
      />
      <Suspense>
        <RequestLog />
      </Suspense>
    </>
  );
}
