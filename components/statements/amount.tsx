import { formatMicros } from "@/lib/billing/money";
import { cn } from "@/lib/utils";

/** An amount on a statement or a receipt: exact to the micro-dollar, as the PDF and the CSV print it. */
export function ExactMoney({
  micros,
  sign = false,
  className,
  testId,
}: {
  micros: bigint;
  sign?: boolean;
  className?: string;
  testId?: string;
}) {
  return (
    <span className={cn("tabular-nums", className)} data-micros={micros.toString()} data-testid={testId}>
      {formatMicros(micros, { sign })}
    </span>
  );
}
