"use client";

import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { Money } from "@/components/billing/money";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { QueryError } from "@/components/ui/data-table";
import {
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableHeader,
  TableMessage,
  TableRow,
  TableTruncate,
} from "@/components/ui/table";
import type { ByokReport } from "@/lib/analytics/byok";
import { FILTER_KEYS } from "@/lib/analytics/schemas";
import type { Json } from "@/lib/json";
import { api } from "@/lib/ui/api";
import { Figure, int, pct } from "./figures";
import type { Filters } from "./filters";

type Report = Json<ByokReport>;

const useByokReport = (base: string, filters: Filters) => {
  const out = new URLSearchParams();
  for (const key of FILTER_KEYS) if (filters[key]) out.set(key, filters[key]!);
  const query = out.toString();
  return useQuery({
    queryKey: ["analytics-byok", base, query],
    queryFn: () => api<Report>(`${base}/analytics/byok?${query}`),
    placeholderData: keepPreviousData,
    refetchInterval: 60_000,
  });
};

/** A person's or an organization's line on their usage page: calls served with their own provider keys, and fees. */
export function ByokLine({
  base,
  filters,
  label = "Own provider keys (BYOK)",
}: {
  base: string;
  filters: Filters;
  label?: string;
}) {
  const { data } = useByokReport(base, filters);
  const t = data?.totals;
  return (
    <p className="text-sm text-muted-foreground" data-testid="byok-line">
      {label}:{" "}
      {t ? (
        <>
          <span className="text-foreground">
            {int(t.byokCalls)} of {int(t.calls)} call{t.calls === 1 ? "" : "s"} ({pct(t.byokCalls, t.calls)})
          </span>{" "}
          served with your own provider keys, charged{" "}
          <Money micros={t.byokRevenueMicros} className="text-foreground" testId="byok-fees" /> in platform
          fees.
        </>
      ) : (
        "…"
      )}
    </p>
  );
}

/** The admin's "Own provider keys (BYOK)" section over the page's filters: totals and per model. */
export function ByokSection({ filters }: { filters: Filters }) {
  const { data, error, refetch } = useByokReport("/api/v1", filters);
  const t = data?.totals;
  return (
    <Card data-testid="byok-section">
      <CardHeader>
        <CardTitle>Own provider keys (BYOK)</CardTitle>
        <CardDescription>
          Calls served with the owners' own provider keys over the range: charged their plan's BYOK fee (a
          share of the price-book price plus any per-call fee, never more than the price), at no provider
          cost.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        {error ? <QueryError error={error} retry={() => refetch()} /> : null}
        <div className="grid grid-cols-2 gap-3 md:grid-cols-3" data-testid="byok-totals">
          <Figure label="BYOK calls" value={t ? int(t.byokCalls) : "…"} testId="byok-calls" />
          <Figure
            label="Share of calls"
            value={t ? pct(t.byokCalls, t.calls) : "…"}
            hint={t ? `of ${int(t.calls)} calls` : undefined}
            testId="byok-share"
          />
          <Figure
            label="Fee revenue"
            value={t ? <Money micros={t.byokRevenueMicros} /> : "…"}
            testId="byok-revenue"
          />
        </div>
        <Table data-testid="byok-by-model">
          <TableHeader>
            <TableRow>
              <TableHead>Model</TableHead>
              <TableHead className="text-right">Calls</TableHead>
              <TableHead className="text-right">BYOK calls</TableHead>
              <TableHead className="text-right">Share</TableHead>
              <TableHead className="text-right">Fee revenue</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {data && data.byModel.length === 0 ? (
              <TableMessage colSpan={5}>No calls match.</TableMessage>
            ) : null}
            {data?.byModel.map((m) => (
              <TableRow key={m.model} data-testid="byok-model-row">
                <TableCell>
                  <TableTruncate text={m.model} />
                </TableCell>
                <TableCell className="text-right tabular-nums">{int(m.calls)}</TableCell>
                <TableCell className="text-right tabular-nums">{int(m.byokCalls)}</TableCell>
                <TableCell className="text-right tabular-nums">{pct(m.byokCalls, m.calls)}</TableCell>
                <TableCell className="text-right tabular-nums">
                  <Money micros={m.byokRevenueMicros} />
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </CardContent>
    </Card>
  );
}
