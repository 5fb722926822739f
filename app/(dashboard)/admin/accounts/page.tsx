import type { Metadata } from "next";
import { AccountsTable } from "@/components/billing/accounts-table";
import { PageHeader } from "@/components/shell/page-header";
import { requireUser } from "@/lib/auth/current";

export const metadata: Metadata = { title: "Accounts" };

export default async function AccountsPage() {
  await requireUser("admin");
  return (
    <>
      <PageHeader
        title="Accounts"
        description="Prepaid balances. Open an account to add funds, set budgets or read its ledger."
      />
      <AccountsTable />
    </>
  );
}
