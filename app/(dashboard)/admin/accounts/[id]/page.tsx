import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { AdminAccount } from "@/components/billing/account-overview";
import { PageHeader } from "@/components/shell/page-header";
import { buttonVariants } from "@/components/ui/button";
import Link from "@/components/ui/link";
import { requireUser } from "@/lib/auth/current";
import { getAccount } from "@/lib/billing/ledger";
import { db } from "@/lib/db";

export const metadata: Metadata = { title: "Account" };

export default async function AccountPage({ params }: { params: Promise<{ id: string }> }) {
  await requireUser("admin");
  const { id } = await params;
  const account = /^[0-9a-f-]{36}$/i.test(id) ? await getAccount(db(), { id }) : null;
  if (!account) notFound();
  return (
    <>
      <PageHeader
        title={
          account.ownerEmail ??
          (account.organizationName ? `${account.organizationName} (organization)` : "Account")
        }
        description="Balance, budgets, calls and ledger."
        actions={
          <Link
            className={buttonVariants({ variant: "outline", size: "sm" })}
            href={`/admin/accounts/${account.id}/statements`}
          >
            Statements
          </Link>
        }
      />
      <AdminAccount accountId={account.id} />
    </>
  );
}
