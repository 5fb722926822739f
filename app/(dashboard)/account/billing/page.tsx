import type { Metadata } from "next";
import { MyBilling } from "@/components/billing/account-overview";
import { PageHeader } from "@/components/shell/page-header";
import { requireUser } from "@/lib/auth/current";

export const metadata: Metadata = { title: "Balance & usage" };

export default async function BillingPage() {
  await requireUser();
  return (
    <>
      <PageHeader
        title="Balance & usage"
        description="Prepaid balance, what calls in progress hold, and what each call was charged."
      />
      <MyBilling />
    </>
  );
}
