"use client";

import { useQuery } from "@tanstack/react-query";
import { Bar, CartesianGrid, ComposedChart, Legend, Line, Tooltip, XAxis, YAxis } from "recharts";
import { NO_CALLS } from "@/components/analytics/usage-analytics";
import { Money } from "@/components/billing/money";
import { ChartEmpty } from "@/components/charts/chart-empty";
import { DayChartFrame, dayChart, dayLabel } from "@/components/charts/day-chart";
import { SERIES, seriesColor, tooltipStyle } from "@/components/charts/palette";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import {
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableHeader,
  TableRow,
  TableTruncate,
} from "@/components/ui/table";
import { api } from "@/lib/ui/api";
import { moneyTick, moneyTooltip, usd } from "./format";

interface Daily {
  day: string;
  calls: number;
  costMicros: number;
  revenueMicros: number;
  estimatedMicros: number;
}

interface ModelRow {
  model: string;
  calls: number;
  tokensIn: number;
  tokensOut: number;
  costMicros: number;
  revenueMicros: number;
}

const pct = (revenue: number, cost: number) =>
  revenue > 0 ? `${(((revenue - cost) / revenue) * 100).toFixed(1)}%` : "—";

export function MarginsPanel() {
  const { data } = useQuery({
    queryKey: ["usage", "platform"],
    queryFn: () => api<{ daily: Daily[]; models: ModelRow[] }>("/api/v1/usage?days=30"),
  });
  const daily = data?.daily ?? [];
  const totals = daily.reduce(
    (t, d) => ({
      calls: t.calls + d.calls,
      cost: t.cost + d.costMicros,
      revenue: t.revenue + d.revenueMicros,
    }),
    { calls: 0, cost: 0, revenue: 0 },
  );
  const chart = daily.map((d) => ({
    day: dayLabel(d.day),
    revenue: d.revenueMicros / 1e6,
    cost: d.costMicros / 1e6,
    margin: (d.revenueMicros - d.costMicros) / 1e6,
  }));
  return (
    <div className="grid grid-cols-1 gap-6">
      <div className="grid grid-cols-1 gap-4 sm:grid-cols-2 xl:grid-cols-4">
        {[
          ["Calls", totals.calls.toLocaleString("en-US")],
          ["Revenue", usd(totals.revenue)],
          ["Provider cost", usd(totals.cost)],
          ["Margin", `${usd(totals.revenue - totals.cost)} (${pct(totals.revenue, totals.cost)})`],
        ].map(([label, value]) => (
          <Card key={label}>
            <CardHeader>
              <CardDescription>{label}, last 30 days</CardDescription>
              <CardTitle data-testid={`total-${label}`} className="text-2xl break-words tabular-nums">
                {value}
              </CardTitle>
            </CardHeader>
          </Card>
        ))}
      </div>
      <Card>
        <CardHeader>
          <CardTitle>Revenue, cost and margin per day</CardTitle>
          <CardDescription>
            Settled days from the settlement's roll-ups; today and unsettled days live.
          </CardDescription>
        </CardHeader>
        <CardContent>
          {data && totals.calls === 0 ? (
            <ChartEmpty height={288} {...NO_CALLS} />
          ) : (
            <DayChartFrame className="h-72" testId="margins-chart">
              <ComposedChart data={chart} margin={dayChart.margin}>
                <CartesianGrid {...dayChart.grid} />
                <XAxis {...dayChart.xAxis} />
                <YAxis {...dayChart.moneyYAxis} tickFormatter={moneyTick} />
                <Tooltip formatter={moneyTooltip} contentStyle={tooltipStyle} />
                <Legend />
                <Bar dataKey="revenue" name={SERIES.revenue.label} fill={seriesColor("revenue")} />
                <Bar dataKey="cost" name={SERIES.cost.label} fill={seriesColor("cost")} />
                <Line
                  dataKey="margin"
                  name={SERIES.margin.label}
                  stroke={seriesColor("margin")}
                  strokeWidth={2}
                  dot={false}
                />
              </ComposedChart>
            </DayChartFrame>
          )}
        </CardContent>
      </Card>
      <Card>
        <CardHeader>
          <CardTitle>By model, last 30 days</CardTitle>
        </CardHeader>
        <CardContent>
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead>Model</TableHead>
                <TableHead className="text-right">Revenue</TableHead>
                <TableHead className="text-right">Provider cost</TableHead>
                <TableHead className="text-right">Margin</TableHead>
                <TableHead className="text-right">Calls</TableHead>
                <TableHead className="text-right">Tokens in / out</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {data?.models.map((m) => (
                <TableRow key={m.model} data-testid={`margin-row-${m.model}`}>
                  <TableCell className="font-medium">
                    <TableTruncate text={m.model} />
                  </TableCell>
                  <TableCell className="text-right tabular-nums">
                    <Money micros={m.revenueMicros} />
                  </TableCell>
                  <TableCell className="text-right tabular-nums">
                    <Money micros={m.costMicros} />
                  </TableCell>
                  <TableCell className="text-right tabular-nums">
                    {pct(m.revenueMicros, m.costMicros)}
                  </TableCell>
                  <TableCell className="text-right tabular-nums">{m.calls.toLocaleString("en-US")}</TableCell>
                  <TableCell className="text-right tabular-nums">
                    {m.tokensIn.toLocaleString("en-US")} / {m.tokensOut.toLocaleString("en-US")}
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </CardContent>
      </Card>
    </div>
  );
}
