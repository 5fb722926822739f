"use client";

import { Bar, BarChart, CartesianGrid, Tooltip, XAxis, YAxis } from "recharts";
import { NO_CALLS } from "@/components/analytics/usage-analytics";
import { ChartEmpty } from "@/components/charts/chart-empty";
import { DayChartFrame, dayChart, dayLabel } from "@/components/charts/day-chart";
import { seriesColor, tooltipStyle } from "@/components/charts/palette";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { moneyTick, moneyTooltip } from "./format";
import { useDaily } from "./queries";

export function SpendChart({ accountId }: { accountId: string | undefined }) {
  const { data } = useDaily(accountId);
  const rows = (data?.items ?? []).map((d) => ({
    day: dayLabel(d.day),
    exact: (d.revenueMicros - d.estimatedMicros) / 1e6,
    estimated: d.estimatedMicros / 1e6,
    calls: d.calls,
  }));
  return (
    <Card>
      <CardHeader>
        <CardTitle>Spend, last 30 days</CardTitle>
        <CardDescription>
          Charged per UTC day; estimated charges (cut streams) stacked on top.
        </CardDescription>
      </CardHeader>
      <CardContent>
        {data && rows.every((r) => r.calls === 0) ? (
          <ChartEmpty height={224} {...NO_CALLS} />
        ) : (
          <DayChartFrame className="h-56" testId="spend-chart">
            <BarChart data={rows} margin={dayChart.margin}>
              <CartesianGrid {...dayChart.grid} />
              <XAxis {...dayChart.xAxis} />
              <YAxis {...dayChart.moneyYAxis} tickFormatter={moneyTick} />
              <Tooltip
                formatter={(value, name) => moneyTooltip(value, name === "exact" ? "charged" : "estimated")}
                labelFormatter={(label) => `Day ${label}`}
                contentStyle={tooltipStyle}
              />
              {/* Both are revenue (what the account was charged): estimated charges in a lighter shade. */}
              <Bar dataKey="exact" stackId="spend" fill={seriesColor("revenue")} />
              <Bar
                dataKey="estimated"
                stackId="spend"
                fill={seriesColor("revenue")}
                fillOpacity={0.45}
                radius={[3, 3, 0, 0]}
              />
            </BarChart>
          </DayChartFrame>
        )}
      </CardContent>
    </Card>
  );
}
