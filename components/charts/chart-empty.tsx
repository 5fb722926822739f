import Link from "@/components/ui/link";

/**
 * What a chart shows when its range has no data: what happened and what to do, instead of bare axes. Its box
 * keeps the chart's height so the page does not jump when data arrives.
 */
export function ChartEmpty({
  height,
  message,
  action,
}: {
  height: number;
  message: string;
  action?: { href: string; label: string };
}) {
  return (
    <div
      data-testid="chart-empty"
      style={{ height }}
      className="flex flex-col items-center justify-center gap-2 rounded-lg border border-dashed p-4 text-center text-sm text-muted-foreground"
    >
      <p>{message}</p>
      {action ? (
        <Link href={action.href} className="font-medium text-primary hover:underline">
          {action.label}
        </Link>
      ) : null}
    </div>
  );
}
