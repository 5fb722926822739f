import type { Metadata } from "next";
import { PricesPanel } from "@/components/billing/prices-panel";
import { PageHeader } from "@/components/shell/page-header";
import { requireUser } from "@/lib/auth/current";

export const metadata: Metadata = { title: "Price book" };

export default async function PricesPage() {
  await requireUser("admin");
  return (
    <>
      <PageHeader title="Price book" description="Provider cost and sell price per model, versioned." />
      <PricesPanel />
    </>
  );
}
