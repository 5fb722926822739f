import type { Metadata } from "next";
import { Suspense } from "react";
import { RequestLog } from "@/components/analytics/request-log";
import { PageHeader } from "@/components/shell/page-header";
import { requireUser } from "@/lib/auth/current";

export const metadata: Metadata = { title: "My calls" };

export default async function MyRequestsPage() {
  await requireUser();
  return (
    <>
      <PageHeader
        title="My calls"
        description="Every call made with your keys and what it was charged; export the filtered calls as CSV. Click a call for its details."
      />
      <Suspense>
        <RequestLog scope="me" />
      </Suspense>
    </>
  );
}
