"use client";

import { useEffect, useState } from "react";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Field, FormError } from "@/components/ui/form";
import { Input } from "@/components/ui/input";
import { toast } from "@/components/ui/sonner";
import { parseUsd } from "@/lib/billing/money";
import { usd } from "./format";
import type { AccountView } from "./queries";
import { useBudgets } from "./queries";

const toUsd = (micros: number | null) => (micros === null ? "" : String(micros / 1e6));

export function BudgetsForm({ account }: { account: AccountView }) {
  const [daily, setDaily] = useState(toUsd(account.dailyBudgetMicros));
  const [monthly, setMonthly] = useState(toUsd(account.monthlyBudgetMicros));
  const [alert, setAlert] = useState(toUsd(account.ownLowBalanceMicros));
  useEffect(() => {
    setDaily(toUsd(account.dailyBudgetMicros));
    setMonthly(toUsd(account.monthlyBudgetMicros));
    setAlert(toUsd(account.ownLowBalanceMicros));
  }, [account.dailyBudgetMicros, account.monthlyBudgetMicros, account.ownLowBalanceMicros]);
  const budgets = useBudgets(account.id);
  const parse = (text: string) => (text.trim() === "" ? null : parseUsd(text));
  const bad = (text: string) => text.trim() !== "" && (parseUsd(text) === null || parseUsd(text)! < 0n);

  return (
    <Card>
      <CardHeader>
        <CardTitle>Budgets</CardTitle>
        <CardDescription>
          Hard limits on charges plus holds per UTC day and month (empty: no limit), and the balance below
          which the owner is emailed once.
        </CardDescription>
      </CardHeader>
      <CardContent>
        <form
          className="flex flex-wrap items-end gap-3"
          onSubmit={(e) => {
            e.preventDefault();
            budgets.mutate(
              {
                dailyBudgetMicros: parse(daily)?.toString() ?? null,
                monthlyBudgetMicros: parse(monthly)?.toString() ?? null,
                lowBalanceMicros: parse(alert)?.toString() ?? null,
              },
              { onSuccess: () => toast.success("Budgets saved") },
            );
          }}
        >
          <Field id="budget-daily" label="Daily (USD)" error={bad(daily) ? "Not an amount" : null}>
            <Input
              id="budget-daily"
              className="w-36"
              value={daily}
              onChange={(e) => setDaily(e.target.value)}
            />
          </Field>
          <Field id="budget-monthly" label="Monthly (USD)" error={bad(monthly) ? "Not an amount" : null}>
            <Input
              id="budget-monthly"
              className="w-36"
              value={monthly}
              onChange={(e) => setMonthly(e.target.value)}
            />
          </Field>
          <Field
            id="budget-alert"
            label={`Low-balance alert (USD; empty: ${usd(account.lowBalanceMicros)} default)`}
            error={bad(alert) ? "Not an amount" : null}
          >
            <Input
              id="budget-alert"
              className="w-36"
              value={alert}
              onChange={(e) => setAlert(e.target.value)}
            />
          </Field>
          <Button
            type="submit"
            variant="outline"
            disabled={budgets.isPending || bad(daily) || bad(monthly) || bad(alert)}
          >
            Save budgets
          </Button>
        </form>
        <FormError message={budgets.error?.message} />
      </CardContent>
    </Card>
  );
}
