import type { ReactNode } from "react";
import { Money } from "@/components/billing/money";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";

/** "12 of 1,000 requests today (UTC)": an account's calls today against its plan's daily limit. */
export const requestsOfLimit = (dayRequests: number, requestsPerDay: number) =>
  `${dayRequests.toLocaleString("en-US")} of ${requestsPerDay.toLocaleString("en-US")} requests today (UTC)`;

/** The "Charged today (UTC)" card of the developer home and the billing page: the amount, then what each adds below. */
export function ChargedTodayCard({
  micros,
  testId,
  contentClassName,
  children,
}: {
  micros: number | string | bigint;
  testId: string;
  contentClassName: string;
  children: ReactNode;
}) {
  return (
    <Card>
      <CardHeader>
        <CardDescription>Charged today (UTC)</CardDescription>
        <CardTitle data-testid={testId} className="text-2xl tabular-nums">
          <Money micros={micros} />
        </CardTitle>
      </CardHeader>
      <CardContent className={contentClassName}>{children}</CardContent>
    </Card>
  );
}
