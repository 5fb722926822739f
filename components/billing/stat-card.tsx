import type { ReactNode } from "react";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";

/** "12 of 1,000 requests today (UTC)": an account's calls today against its plan's daily limit. */
export const requestsOfLimit = (dayRequests: number, requestsPerDay: number) =>
  `${dayRequests.toLocaleString("en-US")} of ${requestsPerDay.toLocaleString("en-US")} requests today (UTC)`;

/** The account's plan by name ("Pay as you go" without one), what it gives below. */
export function PlanCard({
  planName,
  ...card
}: { planName: string | null } & Omit<Parameters<typeof StatCard>[0], "label" | "value">) {
  return <StatCard label="Plan" value={planName ?? "Pay as you go"} {...card} />;
}

/**
 * One figure of the account cards on the developer home and the billing page: what it is, the figure (named by
 * `testId`), then what it adds below.
 */
export function StatCard({
  label,
  value,
  testId,
  valueClassName = "text-2xl tabular-nums",
  contentClassName,
  children,
}: {
  label: ReactNode;
  value: ReactNode;
  testId: string;
  valueClassName?: string;
  contentClassName: string;
  children: ReactNode;
}) {
  return (
    <Card>
      <CardHeader>
        <CardDescription>{label}</CardDescription>
        <CardTitle data-testid={testId} className={valueClassName}>
          {value}
        </CardTitle>
      </CardHeader>
      <CardContent className={contentClassName}>{children}</CardContent>
    </Card>
  );
}
