"use client";

import { ChargedTodayCard, requestsOfLimit } from "@/components/billing/charged-today";
import { Money } from "@/components/billing/money";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
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
        <Card>
          <CardHeader>
            <CardDescription>Balance</CardDescription>
            <CardTitle
              data-testid="balance"
              className={cn("text-2xl tabular-nums", account.balanceMicros < 0 && "text-destructive")}
            >
              <Money micros={account.balanceMicros} />
            </CardTitle>
          </CardHeader>
          <CardContent className="text-xs text-muted-foreground">
            Available for new calls: <Money micros={available} className="tabular-nums" testId="available" />
          </CardContent>
        </Card>
        <Card>
          <CardHeader>
            <CardDescription>Reserved</CardDescription>
            <CardTitle data-testid="held" className="text-2xl tabular-nums">
              <Money micros={account.heldMicros} />
            </CardTitle>
          </CardHeader>
          <CardContent className="grid gap-0.5 text-xs text-muted-foreground">
            <span data-testid="held-split" className="tabular-nums">
              <Money micros={account.heldMicros - account.leasedMicros} /> by calls in progress,{" "}
              <Money micros={account.leasedMicros} /> by gateway leases
            </span>
            <span>Set aside, not spent: what a call does not use comes back when it settles.</span>
          </CardContent>
        </Card>
        <Card>
          <CardHeader>
            <CardDescription>Plan</CardDescription>
            <CardTitle data-testid="plan" className="text-xl leading-tight break-words">
              {account.planName ?? "Pay as you go"}
            </CardTitle>
          </CardHeader>
          <CardContent className="text-xs text-muted-foreground tabular-nums">
            {account.requestsPerDay === null ? (
              `${account.dayRequests} requests today, no daily limit`
            ) : (
              <span data-testid="plan-requests">
                {requestsOfLimit(account.dayRequests, account.requestsPerDay)}
              </span>
            )}
          </CardContent>
        </Card>
        <ChargedTodayCard
          micros={account.dayChargedMicros}
          testId="day-charged"
          contentClassName="grid gap-1"
        >
          <p className="text-xs text-muted-foreground tabular-nums" data-testid="day-reserved">
            + <Money micros={account.dayUsedMicros - account.dayChargedMicros} /> reserved
          </p>
          <Meter
            used={account.dayUsedMicros}
            budget={account.dailyBudgetMicros ?? account.planDailyBudgetMicros}
          />
        </ChargedTodayCard>
        <Card>
          <CardHeader>
            <CardDescription>Charged this month (UTC)</CardDescription>
            <CardTitle data-testid="month-charged" className="text-2xl tabular-nums">
              <Money micros={account.monthChargedMicros} />
            </CardTitle>
          </CardHeader>
          <CardContent className="grid gap-1">
            <p className="text-xs text-muted-foreground tabular-nums" data-testid="month-reserved">
              + <Money micros={account.monthUsedMicros - account.monthChargedMicros} /> reserved
            </p>
            <Meter
              used={account.monthUsedMicros}
              budget={account.monthlyBudgetMicros ?? account.planMonthlyBudgetMicros}
            />
          </CardContent>
        </Card>
      </div>
    </>
  );
}
