import type { Metadata } from "next";
import { PageHeader } from "@/components/shell/page-header";
import { ReceiptView } from "@/components/statements/receipt-view";
import { requireUser } from "@/lib/auth/current";
import { openReceipt } from "../../statements-page";

export const metadata: Metadata = { title: "Receipt" };
export const dynamic = "force-dynamic";

/** A credit's receipt, for the person it credited, its organization's owner, admins and billing members, admins. */
export default async function ReceiptPage({ params }: { params: Promise<{ number: string }> }) {
  const user = await requireUser();
  const receipt = await openReceipt(user, (await params).number);
  const statements = receipt.organizationSlug
    ? `/orgs/${receipt.organizationSlug}/statements`
    : user.role === "admin"
      ? `/admin/accounts/${receipt.accountId}/statements`
      : "/account/statements";
  return (
    <>
      <PageHeader
        title={`Receipt ${receipt.label}`}
        breadcrumbs={[{ label: "Statements", href: statements }, { label: receipt.label }]}
      />
      <ReceiptView receipt={receipt} />
    </>
  );
}
