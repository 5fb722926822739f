import { displayMicros, exactTitle } from "@/lib/billing/money";

/**
 * An amount as every page shows it (displayMicros: cents from a dollar up, three significant digits below), the
 * exact micro-USD on hover. `micros` is the API's integer micro-USD; null or undefined reads "—".
 */
export function Money({
  micros,
  sign = false,
  className,
  testId,
}: {
  micros: number | string | bigint | null | undefined;
  sign?: boolean;
  className?: string;
  testId?: string;
}) {
  if (micros === null || micros === undefined) return <span className={className}>—</span>;
  const value = BigInt(micros);
  return (
    <span className={className} title={exactTitle(value)} data-micros={value.toString()} data-testid={testId}>
      {displayMicros(value, { sign })}
    </span>
  );
}
