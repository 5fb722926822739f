import type { Metadata } from "next";
import { PaymentsPanel } from "@/components/payments/payments-panel";
import { PageHeader } from "@/components/shell/page-header";
import { requireUser } from "@/lib/auth/current";

export const metadata: Metadata = { title: "Payments" };

export default async function PaymentsPage() {
  await requireUser("admin");
  return (
    <>
      <PageHeader title="Payments" description="Card top-ups through Stripe, and the settings behind them." />
      <PaymentsPanel />
    </>
  );
}
