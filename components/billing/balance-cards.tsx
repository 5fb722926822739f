"use client";

import { Money } from "@/components/billing/money";
import { PlanCard, requestsOfLimit, StatCard } from "@/components/billing/stat-card";
import { cn } from "@/lib/utils";
import type { AccountView } from "./queries";

/** A budget's use: what it counts is charges plus the reservations made in its window (clause 26). */
function Meter({ used, budget }: { used: number; budget: number | null }) {
  if (budget === null) return <p className="text-xs text-muted-foreground">No budget</p>;
  const share = budget > 0 ? Math.min(1, used / budget) : 1;
  return (
    <div className="grid gap-1">
      <div className="h-2 rounded-full bg-muted">
        <div
          className={cn(
            "h-2 rounded-full",
            share > 0.9 ? "bg-destructive" : share > 0.7 ? "bg-warning" : "bg-primary",
          )}
          style={{ width: `${share * 100}%` }}
        />
      </div>
      <p className="text-xs text-muted-foreground">
        <Money micros={used} /> of <Money micros={budget} /> budget (charges + reserved)
      </p>
    </div>
  );
}

/** Charged in a UTC window (day or month), what calls still hold in it, and its budget's meter. */
function ChargedCard({
  label,
  testId,
  reservedTestId,
  chargedMicros,
  usedMicros,
  budgetMicros,
}: {
  label: string;
  testId: string;
  reservedTestId: string;
  chargedMicros: number;
  usedMicros: number;
  budgetMicros: number | null;
}) {
  return (
    <StatCard
      label={label}
      value={<Money micros={chargedMicros} />}
      testId={testId}
      contentClassName="grid gap-1"
    >
      <p className="text-xs text-muted-foreground tabular-nums" data-testid={reservedTestId}>
        + <Money micros={usedMicros - chargedMicros} /> reserved
      </p>
      <Meter used={usedMicros} budget={budgetMicros} />
    </StatCard>
  );
}

export function BalanceCards({ account }: { account: AccountView }) {
  const available = account.balanceMicros - account.heldMicros;
  return (
    <>
      {available < account.lowBalanceMicros ? (
        <div
          role="status"
          data-testid="low-balance"
          className="mb-4 rounded-lg border border-amber-300 bg-amber-50 px-4 py-3 text-sm text-amber-900 dark:border-amber-700 dark:bg-amber-950 dark:text-amber-100"
        >
          Your available balance (<Money micros={available} />) is below{" "}
          <Money micros={account.lowBalanceMicros} />. Add funds or redeem a code before calls are refused.
        </div>
      ) : null}
      <div className="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-3 xl:grid-cols-5">
        <StatCard
          label="Balance"
          value={<Money micros={account.balanceMicros} />}
          testId="balance"
          valueClassName={cn("text-2xl tabular-nums", account.balanceMicros < 0 && "text-destructive")}
          contentClassName="text-xs text-muted-foreground"
        >
          Available for new calls: <Money micros={available} className="tabular-nums" testId="available" />
        </StatCard>
        <StatCard
          label="Reserved"
          value={<Money micros={account.heldMicros} />}
          testId="held"
          contentClassName="grid gap-0.5 text-xs text-muted-foreground"
        >
          <span data-testid="held-split" className="tabular-nums">
            <Money micros={account.heldMicros - account.leasedMicros} /> by calls in progress,{" "}
            <Money micros={account.leasedMicros} /> by gateway leases
          </span>
          <span>Set aside, not spent: what a call does not use comes back when it settles.</span>
        </StatCard>
        <PlanCard
          planName={account.planName}
          testId="plan"
          valueClassName="text-xl leading-tight break-words"
          contentClassName="text-xs text-muted-foreground tabular-nums"
        >
          {account.requestsPerDay === null ? (
            `${account.dayRequests} requests today, no daily limit`
          ) : (
            <span data-testid="plan-requests">
              {requestsOfLimit(account.dayRequests, account.requestsPerDay)}
            </span>
          )}
        </PlanCard>
        <ChargedCard
          label="Charged today (UTC)"
          testId="day-charged"
          reservedTestId="day-reserved"
          chargedMicros={account.dayChargedMicros}
          usedMicros={account.dayUsedMicros}
          budgetMicros={account.dailyBudgetMicros ?? account.planDailyBudgetMicros}
        />
        <ChargedCard
          label="Charged this month (UTC)"
          testId="month-charged"
          reservedTestId="month-reserved"
          chargedMicros={account.monthChargedMicros}
          usedMicros={account.monthUsedMicros}
          budgetMicros={account.monthlyBudgetMicros ?? account.planMonthlyBudgetMicros}
        />
      </div>
    </>
  );
}
