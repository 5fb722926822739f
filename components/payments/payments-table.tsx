"use client";

import { Money } from "@/components/billing/money";
import { Badge } from "@/components/ui/badge";
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
import type { PaymentRow } from "./queries";

const STATUS = {
  pending: "secondary",
  paid: "success",
  expired: "secondary",
  failed: "destructive",
  refunded: "warning",
  partially_refunded: "warning",
  disputed: "destructive",
} as const;

/** Card top-ups, amount and status first (what a phone shows); admins also see who paid and Stripe's ids. */
export function PaymentsTable({ items, admin }: { items: PaymentRow[] | undefined; admin: boolean }) {
  const columns = admin ? 7 : 5;
  return (
    <Table>
      <TableHeader>
        <TableRow>
          <TableHead className="text-right">Amount</TableHead>
          <TableHead>Status</TableHead>
          {admin ? <TableHead>Account</TableHead> : null}
          <TableHead>When</TableHead>
          <TableHead className="text-right">Credited</TableHead>
          <TableHead className="text-right">Refunded</TableHead>
          {admin ? <TableHead>Stripe session</TableHead> : null}
        </TableRow>
      </TableHeader>
      <TableBody>
        {items?.length === 0 ? <TableMessage colSpan={columns}>No card payments yet.</TableMessage> : null}
        {items?.map((p) => (
          <TableRow key={p.id} data-testid="payment-row">
            <TableCell className="text-right tabular-nums">
              <Money micros={p.amountMicros} />
            </TableCell>
            <TableCell>
              <Badge variant={STATUS[p.status]} title={p.failureReason ?? undefined}>
                {p.status.replace("_", " ")}
              </Badge>
            </TableCell>
            {admin ? (
              <TableCell>
                <TableTruncate text={p.userEmail ?? "—"} className="max-w-56" />
              </TableCell>
            ) : null}
            <TableTimeCell iso={p.createdAt} />
            <TableCell className="text-right tabular-nums">
              <Money micros={p.paidMicros} />
            </TableCell>
            <TableCell className="text-right tabular-nums">
              {p.refundedMicros ? <Money micros={p.refundedMicros} /> : "—"}
            </TableCell>
            {admin ? (
              <TableCell className="font-mono text-xs">
                <TableTruncate
                  text={`${p.stripeSessionId}${p.stripePaymentIntentId ? ` · ${p.stripePaymentIntentId}` : ""}`}
                  className="max-w-40"
                >
                  {p.stripeSessionId}
                </TableTruncate>
              </TableCell>
            ) : null}
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}
