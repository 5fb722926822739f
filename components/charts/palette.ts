/**
 * One meaning per colour on every chart: revenue (what users were charged), provider cost, margin, calls and
 * errors each keep their colour whichever chart shows them. The colours are the theme's chart variables
 * (app/globals.css), so dark mode has its own shades.
 */
export const SERIES = {
  revenue: { label: "Revenue", color: "var(--chart-1)" },
  cost: { label: "Provider cost", color: "var(--chart-3)" },
  margin: { label: "Margin", color: "var(--chart-2)" },
  calls: { label: "Calls", color: "var(--chart-5)" },
  errors: { label: "Errors", color: "var(--chart-4)" },
  /** Response-cache hits and the money they saved: colours of their own, so no chart reads a hit as a call. */
  hits: { label: "Cache hits", color: "var(--primary)" },
  saved: { label: "Saved by the cache", color: "var(--success)" },
} as const;

export type Series = keyof typeof SERIES;

/** The colour of a series, for a Bar's fill or a Line's stroke. */
export const seriesColor = (series: Series) => SERIES[series].color;

/** Shared tooltip look: the popover's colours in both themes. */
export const tooltipStyle = {
  background: "var(--popover)",
  color: "var(--popover-foreground)",
  border: "1px solid var(--border)",
  borderRadius: "0.5rem",
  fontSize: 12,
} as const;

/** A percentage axis label that fits its axis: "14.3%", "5%", never "14.285714%". */
export const percentTick = (v: number) => `${Number(v.toFixed(v < 10 ? 1 : 0))}%`;
