"use client";

import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
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
      <CardContent className="h-56">
        <ResponsiveContainer width="100%" height="100%">
          <BarChart data={rows} margin={{ left: 8, right: 8 }}>
            <CartesianGrid vertical={false} strokeDasharray="3 3" className="stroke-border" />
            <XAxis dataKey="day" tickLine={false} axisLine={false} fontSize={11} interval={4} />
            <YAxis tickLine={false} axisLine={false} fontSize={11} width={72} tickFormatter={moneyTick} />
            <Tooltip
              formatter={(value, name) => [
                usd(Math.round(Number(value) * 1e6)),
                name === "exact" ? "charged" : "estimated",
              ]}
              labelFormatter={(label) => `Day ${label}`}
            />
            <Bar dataKey="exact" stackId="spend" fill="var(--color-chart-1)" radius={[0, 0, 0, 0]} />
            <Bar dataKey="estimated" stackId="spend" fill="var(--color-chart-3)" radius={[3, 3, 0, 0]} />
          </BarChart>
        </ResponsiveContainer>
      </CardContent>
    </Card>
  );
}
