"use client";

import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { cn } from "@/lib/utils";
import { usd, usdShort } from "./format";
import type { AccountView } from "./queries";

function Meter({ used, budget }: { used: number; budget: number | null }) {
  if (budget === null) return <p className="text-xs text-muted-foreground">No limit</p>;
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
        {usd(used)} of {usd(budget)}
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
          Your available balance ({usd(available)}) is below {usd(account.lowBalanceMicros)}. Add funds or
          redeem a code before calls are refused.
        </div>
      ) : null}
      <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3 xl:grid-cols-5">
        <Card>
          <CardHeader>
            <CardDescription>Balance</CardDescription>
            <CardTitle
              data-testid="balance"
              className={cn("text-2xl tabular-nums", account.balanceMicros < 0 && "text-destructive")}
            >
              {usdShort(account.balanceMicros)}
            </CardTitle>
          </CardHeader>
          <CardContent className="text-xs text-muted-foreground tabular-nums">
            {usd(account.balanceMicros)}
          </CardContent>
        </Card>
        <Card>
          <CardHeader>
            <CardDescription>Held for calls</CardDescription>
            <CardTitle data-testid="held" className="text-2xl tabular-nums">
              {usdShort(account.heldMicros)}
            </CardTitle>
          </CardHeader>
          <CardContent className="grid gap-0.5 text-xs text-muted-foreground">
            <span data-testid="held-split" className="tabular-nums">
              {usd(account.heldMicros - account.leasedMicros)} by calls in progress,{" "}
              {usd(account.leasedMicros)} by gateway leases
            </span>
            <span>
              Available for new calls: <span className="tabular-nums">{usd(available)}</span>
            </span>
          </CardContent>
        </Card>
        <Card>
          <CardHeader>
            <CardDescription>Plan</CardDescription>
            <CardTitle data-testid="plan" className="truncate text-xl leading-8">
              {account.planName ?? "Pay as you go"}
            </CardTitle>
          </CardHeader>
          <CardContent className="text-xs text-muted-foreground tabular-nums">
            {account.requestsPerDay === null ? (
              `${account.dayRequests} requests today, no daily limit`
            ) : (
              <span data-testid="plan-requests">
                {account.dayRequests.toLocaleString("en-US")} of{" "}
                {account.requestsPerDay.toLocaleString("en-US")} requests today (UTC)
              </span>
            )}
          </CardContent>
        </Card>
        <Card>
          <CardHeader>
            <CardDescription>Today (UTC)</CardDescription>
            <CardTitle className="text-2xl tabular-nums">{usdShort(account.dayUsedMicros)}</CardTitle>
          </CardHeader>
          <CardContent>
            <Meter
              used={account.dayUsedMicros}
              budget={account.dailyBudgetMicros ?? account.planDailyBudgetMicros}
            />
          </CardContent>
        </Card>
        <Card>
          <CardHeader>
            <CardDescription>This month (UTC)</CardDescription>
            <CardTitle className="text-2xl tabular-nums">{usdShort(account.monthUsedMicros)}</CardTitle>
          </CardHeader>
          <CardContent>
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
