import type { Metadata } from "next";
import { AlertsPanel } from "@/components/analytics/alerts";
import { PageHeader } from "@/components/shell/page-header";
import { requireUser } from "@/lib/auth/current";

export const metadata: Metadata = { title: "Alerts" };

export default async function AlertsPage() {
  await requireUser("admin");
  return (
    <>
      <PageHeader
        title="Alerts"
        description="Spend-rate and error-rate rules for the platform, a user or a key, and where their notices go."
      />
      <AlertsPanel />
    </>
  );
}
