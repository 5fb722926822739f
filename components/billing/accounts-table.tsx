"use client";

import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { Search } from "lucide-react";
import { useState } from "react";
import { Money } from "@/components/billing/money";
import { Card, CardContent } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import Link from "@/components/ui/link";
import { Pager, pageCount } from "@/components/ui/pager";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { api } from "@/lib/ui/api";
import { cn } from "@/lib/utils";
import type { AccountView } from "./queries";

export function AccountsTable() {
  const [q, setQ] = useState("");
  const [page, setPage] = useState(1);
  const params = new URLSearchParams({ page: String(page), pageSize: "25" });
  if (q.trim()) params.set("q", q.trim());
  const { data } = useQuery({
    queryKey: ["accounts", q.trim(), page],
    queryFn: () => api<{ items: AccountView[]; total: number }>(`/api/v1/accounts?${params}`),
    placeholderData: keepPreviousData,
  });
  const pages = pageCount(data?.total, 25);
  return (
    <Card>
      <CardContent className="grid gap-4">
        <div className="relative max-w-md">
          <Search className="absolute top-2.5 left-2.5 size-4 text-muted-foreground" />
          <Input
            aria-label="Search accounts"
            placeholder="Search by owner email"
            className="pl-8"
            value={q}
            onChange={(e) => {
              setQ(e.target.value);
              setPage(1);
            }}
          />
        </div>
        <Table>
          <TableHeader>
            <TableRow>
              <TableHead>Owner</TableHead>
              <TableHead className="text-right">Balance</TableHead>
              <TableHead className="text-right">Reserved</TableHead>
              <TableHead className="text-right">Available</TableHead>
              <TableHead className="text-right">Charged today</TableHead>
              <TableHead className="text-right">Charged this month</TableHead>
              <TableHead>Statements</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {data?.items.map((a) => (
              <TableRow key={a.id} data-testid={`account-row-${a.ownerEmail ?? a.organizationSlug}`}>
                <TableCell>
                  <Link
                    className="block max-w-64 truncate font-medium text-primary hover:underline"
                    href={`/admin/accounts/${a.id}`}
                    title={a.ownerEmail ?? a.organizationName ?? undefined}
                  >
                    {a.ownerEmail ?? `${a.organizationName} (organization)`}
                  </Link>
                </TableCell>
                <TableCell
                  className={cn("text-right tabular-nums", a.balanceMicros < 0 && "text-destructive")}
                >
                  <Money micros={a.balanceMicros} />
                </TableCell>
                <TableCell className="text-right tabular-nums">
                  <Money micros={a.heldMicros} />
                </TableCell>
                <TableCell className="text-right tabular-nums">
                  <Money micros={a.balanceMicros - a.heldMicros} />
                </TableCell>
                <TableCell className="text-right tabular-nums">
                  <Money micros={a.dayChargedMicros} />
                </TableCell>
                <TableCell className="text-right tabular-nums">
                  <Money micros={a.monthChargedMicros} />
                </TableCell>
                <TableCell>
                  <Link className="text-primary hover:underline" href={`/admin/accounts/${a.id}/statements`}>
                    Statements
                  </Link>
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
        <div className="flex justify-end">
          <Pager page={page} pages={pages} onPage={setPage} />
        </div>
      </CardContent>
    </Card>
  );
}
