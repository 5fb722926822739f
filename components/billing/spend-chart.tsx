"use client";

import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { NO_CALLS } from "@/components/analytics/usage-analytics";
import { ChartEmpty } from "@/components/charts/chart-empty";
import { seriesColor, tooltipStyle } from "@/components/charts/palette";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { moneyTick, usd } from "./format";
import { useDaily } from "./queries";

export function SpendChart({ accountId }: { accountId: string | undefined }) {
  const { data } = useDaily(accountId);
  const rows = (data?.items ?? []).map((d) => ({
    day: d.day.slice(5),
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
          <div className="h-56" data-testid="spend-chart">
            <ResponsiveContainer width="100%" height="100%">
              <BarChart data={rows} margin={{ left: 8, right: 8, top: 8 }}>
                <CartesianGrid vertical={false} strokeDasharray="3 3" className="stroke-border" />
                <XAxis
                  dataKey="day"
                  tickLine={false}
                  axisLine={false}
                  fontSize={11}
                  interval="preserveStartEnd"
                  minTickGap={16}
                />
                <YAxis tickLine={false} axisLine={false} fontSize={11} width={80} tickFormatter={moneyTick} />
                <Tooltip
                  formatter={(value, name) => [
                    usd(Math.round(Number(value) * 1e6)),
                    name === "exact" ? "charged" : "estimated",
                  ]}
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
            </ResponsiveContainer>
          </div>
        )}
      </CardContent>
    </Card>
  );
}
