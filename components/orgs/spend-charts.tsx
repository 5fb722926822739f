"use client";

import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { moneyTick, moneyTooltip } from "@/components/billing/format";
import { ChartEmpty } from "@/components/charts/chart-empty";
import { DayChartFrame, dayChart, dayLabel } from "@/components/charts/day-chart";
import { seriesColor, tooltipStyle } from "@/components/charts/palette";

// The organization overview's charts. Spend is what the organization was charged (revenue in the one palette: blue);
// the series hold dollars for the axes, the amounts arrive as integer micro-USD.

/** What a chart says with nothing to draw, and where to go next. */
export interface EmptyNote {
  message: string;
  action?: { href: string; label: string };
}

/** Charged per UTC day over the last 30 days. */
export function SpendPerDay({
  days,
  empty,
}: {
  days: { day: string; calls: number; chargedMicros: number }[];
  empty: EmptyNote;
}) {
  if (days.every((d) => d.calls === 0)) return <ChartEmpty height={224} {...empty} />;
  const rows = days.map((d) => ({ day: dayLabel(d.day), charged: d.chargedMicros / 1e6, calls: d.calls }));
  return (
    <DayChartFrame className="h-56" testId="org-spend-chart">
      <BarChart data={rows} margin={dayChart.margin}>
        <CartesianGrid {...dayChart.grid} />
        <XAxis {...dayChart.xAxis} />
        <YAxis {...dayChart.moneyYAxis} tickFormatter={moneyTick} />
        <Tooltip
          formatter={(value) => moneyTooltip(value, "charged")}
          labelFormatter={(label) => `Day ${label}`}
          contentStyle={tooltipStyle}
        />
        <Bar dataKey="charged" fill={seriesColor("revenue")} radius={[3, 3, 0, 0]} />
      </BarChart>
    </DayChartFrame>
  );
}

/** One bar per row (a member, a model), longest first: who or what the month's money went to. */
export function SpendBars({
  rows,
  testId,
  empty,
}: {
  rows: { label: string; chargedMicros: number }[];
  testId: string;
  empty: EmptyNote;
}) {
  const drawn = rows.filter((r) => r.chargedMicros > 0).slice(0, 8);
  if (drawn.length === 0) return <ChartEmpty height={160} {...empty} />;
  const data = drawn.map((r) => ({
    // A long email or model name is cut on the axis; the tooltip has it whole.
    label: r.label.length > 22 ? `${r.label.slice(0, 21)}…` : r.label,
    full: r.label,
    charged: r.chargedMicros / 1e6,
  }));
  return (
    <div style={{ height: drawn.length * 36 + 32 }} data-testid={testId}>
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={data} layout="vertical" margin={{ left: 8, right: 16, top: 4, bottom: 4 }}>
          <CartesianGrid horizontal={false} strokeDasharray="3 3" className="stroke-border" />
          <XAxis
            type="number"
            tickFormatter={moneyTick}
            fontSize={11}
            tickLine={false}
            axisLine={false}
            minTickGap={24}
          />
          <YAxis
            type="category"
            dataKey="label"
            width={150}
            fontSize={11}
            tickLine={false}
            axisLine={false}
          />
          <Tooltip
            formatter={(value) => moneyTooltip(value, "charged")}
            labelFormatter={(_, payload) => String(payload?.[0]?.payload?.full ?? "")}
            contentStyle={tooltipStyle}
            cursor={{ fillOpacity: 0.3 }}
          />
          <Bar dataKey="charged" fill={seriesColor("revenue")} radius={[0, 3, 3, 0]} barSize={18} />
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
