import type { Metadata } from "next";
import { MarginsPanel } from "@/components/billing/margins-panel";
import { PageHeader } from "@/components/shell/page-header";
import { requireUser } from "@/lib/auth/current";

export const metadata: Metadata = { title: "Usage & margins" };

export default async function UsagePage() {
  await requireUser("admin");
  return (
    <>
      <PageHeader
        title="Usage & margins"
        description="What the platform sold, what it cost, and what it kept."
      />
      <MarginsPanel />
    </>
  );
}
