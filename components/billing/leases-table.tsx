"use client";

import { useQuery } from "@tanstack/react-query";
import { Money } from "@/components/billing/money";
import { Badge } from "@/components/ui/badge";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
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
import type { LeaseView } from "@/lib/billing/leases";
import type { Json } from "@/lib/json";
import { api } from "@/lib/ui/api";

const STATUS: Record<string, "default" | "secondary" | "outline" | "destructive"> = {
  open: "default",
  closing: "secondary",
  closed: "outline",
  expired: "outline",
};

/**
 * An account's balance leases (admins): what each gateway process was granted, what its settled calls drew and
 * were charged, what it still reserves, and until when. Refreshed every 5 s while open.
 */
export function LeasesTable({ accountId }: { accountId: string }) {
  const { data, error, refetch } = useQuery({
    queryKey: ["leases", accountId],
    queryFn: () => api<{ items: Json<LeaseView>[] }>(`/api/v1/accounts/${accountId}/leases`),
    refetchInterval: 5_000,
  });
  const live = data?.items.filter((l) => l.status === "open" || l.status === "closing") ?? [];
  return (
    <Card>
      <CardHeader>
        <CardTitle>Balance leases</CardTitle>
        <CardDescription>
          Slices of the balance reserved for gateway processes, which spend them call by call without asking
          the platform; calls are charged from their usage events. {live.length} live, reserving{" "}
          <Money micros={live.reduce((sum, l) => sum + l.reservedMicros, 0)} />. Times in UTC.
        </CardDescription>
      </CardHeader>
      <CardContent>
        {error ? (
          <p className="text-sm text-destructive">
            {error.message}{" "}
            <button type="button" className="underline" onClick={() => refetch()}>
              Retry
            </button>
          </p>
        ) : null}
        <Table>
          <TableHeader>
            <TableRow>
              <TableHead>Opened</TableHead>
              <TableHead>Key</TableHead>
              <TableHead>Status</TableHead>
              <TableHead className="text-right">Granted</TableHead>
              <TableHead className="text-right">Drawn (settled)</TableHead>
              <TableHead className="text-right">Charged</TableHead>
              <TableHead className="text-right">Reserved now</TableHead>
              <TableHead className="text-right">Calls</TableHead>
              <TableHead>Expires</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {data?.items.length === 0 ? (
              <TableMessage colSpan={9}>
                No leases yet: the gateway takes one when a key on a plan without a daily request count calls.
              </TableMessage>
            ) : null}
            {data?.items.map((l) => (
              <TableRow key={l.id} data-testid="lease-row">
                <TableTimeCell iso={l.createdAt} />
                <TableCell className="font-mono text-xs">{l.keyPrefix}…</TableCell>
                <TableCell>
                  <Badge variant={STATUS[l.status] ?? "outline"}>{l.status}</Badge>
                </TableCell>
                <TableCell className="text-right tabular-nums">
                  <Money micros={l.grantedMicros} />
                </TableCell>
                <TableCell className="text-right tabular-nums">
                  <Money micros={l.drawnMicros} />
                </TableCell>
                <TableCell className="text-right tabular-nums">
                  <Money micros={l.chargedMicros} />
                </TableCell>
                <TableCell className="text-right font-medium tabular-nums">
                  <Money micros={l.reservedMicros} />
                </TableCell>
                <TableCell className="text-right tabular-nums">{l.calls.toLocaleString("en-US")}</TableCell>
                <TableTimeCell iso={l.closedAt ?? l.expiresAt} />
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </CardContent>
    </Card>
  );
}
