import type { Metadata } from "next";
import { ModelPrices } from "@/components/billing/model-prices";
import { PageHeader } from "@/components/shell/page-header";
import { requireUser } from "@/lib/auth/current";

export const metadata: Metadata = { title: "Models & prices" };

export default async function ModelsAndPricesPage() {
  await requireUser();
  return (
    <>
      <PageHeader
        title="Models & prices"
        description="What you can call and what each call costs, in the units it is billed by."
      />
      <ModelPrices />
    </>
  );
}
