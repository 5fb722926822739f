"use client";

import type { ComponentProps, ReactElement } from "react";
import { type CartesianGrid, ResponsiveContainer, type XAxis, type YAxis } from "recharts";

/** A UTC day ("2026-03-14") as the x axis of the per-day charts shows it: "03-14". */
export const dayLabel = (day: string) => day.slice(5);

/**
 * The frame and axes of the billing pages' per-day charts: a box of the given height (a Tailwind class) filled by
 * the chart. Recharts finds its axes among the chart's own children, so the axes are props to spread, not
 * components.
 */
export function DayChartFrame({
  className,
  testId,
  children,
}: {
  className: string;
  testId: string;
  children: ReactElement;
}) {
  return (
    <div className={className} data-testid={testId}>
      <ResponsiveContainer width="100%" height="100%">
        {children}
      </ResponsiveContainer>
    </div>
  );
}

/** Horizontal grid lines only, dashed, in the border colour. */
const grid: ComponentProps<typeof CartesianGrid> = {
  vertical: false,
  strokeDasharray: "3 3",
  className: "stroke-border",
};

/** The x axis: one tick per day label (rows keyed `day`), first and last always shown. */
const xAxis: ComponentProps<typeof XAxis> = {
  dataKey: "day",
  tickLine: false,
  axisLine: false,
  fontSize: 11,
  interval: "preserveStartEnd",
  minTickGap: 16,
};

/** The money y axis: wide enough for "$1,234.56". */
const moneyYAxis: ComponentProps<typeof YAxis> = {
  tickLine: false,
  axisLine: false,
  fontSize: 11,
  width: 80,
};

/** The per-day charts' settings, to spread on their parts: the plot's margin in its box, grid, x axis, money y axis. */
export const dayChart = { margin: { left: 8, right: 8, top: 8 }, grid, xAxis, moneyYAxis };
