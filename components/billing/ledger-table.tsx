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
  TableTruncate,
} from "@/components/ui/table";
import { cn } from "@/lib/utils";
import { type LedgerView, useLedger } from "./queries";

/** What each ledger transaction kind reads as (ledger_transactions.kind); an unknown kind shows as stored. */
export const LEDGER_KIND_LABELS: Record<string, string> = {
  topup: "Top-up",
  grant: "Grant",
  adjustment: "Adjustment",
  charge: "Usage",
  charge_adjustment: "Usage correction",
  redemption: "Redemption code",
  seat_fee: "Seat fee",
};

export function LedgerTable({
  accountId,
  statements,
}: {
  accountId: string | undefined;
  /** The account's monthly statements (every entry), named when the ledger stops at its newest entries. */
  statements: string;
}) {
  const [page, setPage] = useState(1);
  const { data } = useLedger(accountId, page);
  return (
    <LedgerCard
      items={data?.items}
      page={page}
      pages={pageCount(data?.total, 20)}
      onPage={setPage}
      capped={data?.capped ? { total: data.total, statements } : undefined}
    />
  );
}

/** The ledger's card for entries read elsewhere (an organization's statement is read on its server page). */
export function LedgerCard({
  items,
  page,
  pages,
  onPage,
  description = "Every movement of money on the account, with the balance after it.",
  capped,
}: {
  items: LedgerView[] | undefined;
  page: number;
  pages: number;
  onPage: (page: number) => void;
  description?: string;
  /** The ledger shown stops at its newest `total` entries; `statements` has every one. */
  capped?: { total: number; statements: string };
}) {
  const data = items ? { items } : undefined;
  return (
    <Card>
      <CardHeader>
        <CardTitle>Ledger</CardTitle>
        <CardDescription>{description}</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-3">
        <Table>
          <TableHeader>
            <TableRow>
              <TableHead>When</TableHead>
              <TableHead>Kind</TableHead>
              <TableHead className="text-right">Amount</TableHead>
              <TableHead className="text-right">Balance after</TableHead>
              <TableHead>Reason</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {data?.items.length === 0 ? <TableMessage colSpan={5}>No entries yet.</TableMessage> : null}
            {data?.items.map((e) => (
              <TableRow key={e.id} data-testid="ledger-row">
                <TableTimeCell iso={e.at} />
                <TableCell>
                  <Badge variant="outline" data-kind={e.kind}>
                    {LEDGER_KIND_LABELS[e.kind] ?? e.kind}
                  </Badge>
                </TableCell>
                <TableCell
                  className={cn(
                    "text-right tabular-nums",
                    e.amountMicros < 0 ? "text-foreground" : "text-green-700 dark:text-green-400",
                  )}
                >
                  <Money micros={e.amountMicros} sign />
                </TableCell>
                <TableCell className="text-right font-medium tabular-nums">
                  <Money micros={e.runningBalanceMicros} />
                </TableCell>
                <TableCell>
                  <TableTruncate text={e.reason} className="max-w-80" />
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
        <div className="flex flex-wrap items-center justify-end gap-3">
          {capped ? (
            <p className="text-sm text-muted-foreground" data-testid="ledger-capped">
              The newest {capped.total.toLocaleString("en-US")} entries.{" "}
              <Link href={capped.statements} className="underline underline-offset-4">
                The monthly statements
              </Link>{" "}
              hold every entry.
            </p>
          ) : null}
          <Pager page={page} pages={pages} onPage={onPage} />
        </div>
      </CardContent>
    </Card>
  );
}
