import { cn, formatUtc, formatUtcDay } from "@/lib/utils";

/**
 * An instant as every page shows it ("2026-12-04 19:11 UTC", or the day alone), with the exact ISO instant on
 * hover and in the element's datetime.
 */
export function UtcTime({
  at,
  day = false,
  className,
}: {
  at: string | Date;
  day?: boolean;
  className?: string;
}) {
  const iso = typeof at === "string" ? at : at.toISOString();
  return (
    <time dateTime={iso} title={iso} className={cn("whitespace-nowrap tabular-nums", className)}>
      {day ? formatUtcDay(at) : formatUtc(at)}
    </time>
  );
}
