"use client";

import { useState } from "react";
import { Money } from "@/components/billing/money";
import { Badge } from "@/components/ui/badge";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import Link from "@/components/ui/link";
import { Pager, pageCount } from "@/components/ui/pager";
import {
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableHeader,
  TableMessage,
  TableRow,
  TableTimeCell,
} from "@/components/ui/table";
import { billedUnits } from "./format";
import { useUsage } from "./queries";

const STATUS_VARIANT = { exact: "success", estimated: "warning", waived: "secondary" } as const;

export function UsageTable({
  accountId,
  showCost = false,
  requestLog,
}: {
  accountId: string | undefined;
  showCost?: boolean;
  /** Where every call is (the request log, cursor-paged): named when the list stops at its newest calls. */
  requestLog: string;
}) {
  const [page, setPage] = useState(1);
  const { data } = useUsage(accountId, page);
  const pages = pageCount(data?.total, 20);
  return (
    <Card>
      <CardHeader>
        <CardTitle>Recent calls</CardTitle>
        <CardDescription>
          Every call through the gateway and what it was charged. Estimated: a stream cut short, counted from
          the text delivered. Waived: a failed call, never charged.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-3">
        <Table>
          <TableHeader>
            <TableRow>
              <TableHead>When</TableHead>
              <TableHead>Model</TableHead>
              <TableHead className="text-right">Charged</TableHead>
              {showCost ? <TableHead className="text-right">Provider cost</TableHead> : null}
              <TableHead>Billing</TableHead>
              <TableHead className="text-right">Billed by</TableHead>
              <TableHead>Key</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {data?.items.length === 0 ? <TableMessage colSpan={7}>No calls yet.</TableMessage> : null}
            {data?.items.map((u) => (
              <TableRow key={u.id} data-testid="usage-row">
                <TableTimeCell iso={u.startedAt} />
                <TableCell>
                  {u.model}
                  <span className="ml-1 text-xs text-muted-foreground">
                    {u.kind === "chat" ? "" : u.kind}
                    {u.stream ? " stream" : ""}
                  </span>
                </TableCell>
                <TableCell className="text-right font-medium tabular-nums">
                  <Money micros={u.revenueMicros} />
                </TableCell>
                {showCost ? (
                  <TableCell className="text-right tabular-nums">
                    <Money micros={u.costMicros ?? 0} />
                  </TableCell>
                ) : null}
                <TableCell>
                  <Badge variant={STATUS_VARIANT[u.billingStatus]} title={u.errorClass ?? undefined}>
                    {u.billingStatus}
                  </Badge>
                </TableCell>
                <TableCell className="text-right tabular-nums">{billedUnits(u)}</TableCell>
                <TableCell className="font-mono text-xs">{u.keyPrefix}…</TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
        <div className="flex flex-wrap items-center justify-end gap-3">
          {data?.capped ? (
            <p className="text-sm text-muted-foreground" data-testid="usage-capped">
              The newest {data.total.toLocaleString("en-US")} calls. Older ones are in{" "}
              <Link href={requestLog} className="underline underline-offset-4">
                the request log
              </Link>
              .
            </p>
          ) : null}
          <Pager page={page} pages={pages} onPage={setPage} />
        </div>
      </CardContent>
    </Card>
  );
}
