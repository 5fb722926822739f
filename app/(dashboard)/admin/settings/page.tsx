import type { Metadata } from "next";
import { PageHeader } from "@/components/shell/page-header";
import { OperatorSettingsForm } from "@/components/statements/operator-settings-form";
import { requireUser } from "@/lib/auth/current";
import { db } from "@/lib/db";
import { asJson } from "@/lib/orgs/overview";
import { getOperatorSettings } from "@/lib/statements/settings";

export const metadata: Metadata = { title: "Operator settings" };
export const dynamic = "force-dynamic";

/** What statements and receipts print about the operator (admins). */
export default async function OperatorSettingsPage() {
  await requireUser("admin");
  const settings = await getOperatorSettings(db());
  return (
    <>
      <PageHeader
        title="Operator settings"
        description="Your legal details as customers' statements and receipts print them."
      />
      <OperatorSettingsForm settings={asJson(settings)} />
    </>
  );
}
