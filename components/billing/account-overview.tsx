"use client";

import { AddFundsCard } from "@/components/payments/add-funds-card";
import { RedeemCard } from "@/components/redemptions/redeem-card";
import { BalanceCards } from "./balance-cards";
import { BudgetsForm } from "./budgets-form";
import { CreditDialog } from "./credit-dialog";
import { LeasesTable } from "./leases-table";
import { LedgerTable } from "./ledger-table";
import { type AccountView, useAccount, useMyAccount } from "./queries";
import { SpendChart } from "./spend-chart";
import { UsageTable } from "./usage-table";

function Overview({ account, admin }: { account: AccountView; admin: boolean }) {
  return (
    // grid-cols-1 is minmax(0, 1fr): a wide table scrolls inside its card instead of widening the page.
    <div className="grid grid-cols-1 gap-6">
      {admin ? (
        <div className="flex justify-end">
          <CreditDialog accountId={account.id} email={account.ownerEmail ?? account.organizationName} />
        </div>
      ) : null}
      <BalanceCards account={account} />
      {admin ? null : (
        <div className="grid gap-6 lg:grid-cols-2">
          <AddFundsCard />
          <RedeemCard />
        </div>
      )}
      <SpendChart accountId={account.id} />
      {admin ? <BudgetsForm account={account} /> : null}
      {admin ? <LeasesTable accountId={account.id} /> : null}
      <UsageTable
        accountId={account.id}
        showCost={admin}
        requestLog={
          admin
            ? account.organizationSlug
              ? `/admin/requests?org=${account.organizationSlug}`
              : `/admin/requests?userId=${account.ownerUserId}`
            : "/account/requests"
        }
      />
      <LedgerTable
        accountId={account.id}
        statements={admin ? `/admin/accounts/${account.id}/statements` : "/account/statements"}
      />
    </div>
  );
}

/** The signed-in developer's own billing. */
export function MyBilling() {
  const { data } = useMyAccount();
  return data ? <Overview account={data.account} admin={false} /> : null;
}

/** An admin's view of any account: top-ups and budgets too. */
export function AdminAccount({ accountId }: { accountId: string }) {
  const { data, error } = useAccount(accountId);
  if (error) return <p className="text-sm text-destructive">{error.message}</p>;
  return data ? <Overview account={data.account} admin /> : null;
}
