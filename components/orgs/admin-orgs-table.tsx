"use client";

import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { Search } from "lucide-react";
import { useState } from "react";
import { Money } from "@/components/billing/money";
import { Badge } from "@/components/ui/badge";
import { Card, CardContent } from "@/components/ui/card";
import { QueryError } from "@/components/ui/data-table";
import { Input } from "@/components/ui/input";
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
  TableTruncate,
} from "@/components/ui/table";
import type { Json } from "@/lib/json";
import type { OrgAdminRow } from "@/lib/orgs/types";
import { api } from "@/lib/ui/api";
import { cn } from "@/lib/utils";

type Row = Json<OrgAdminRow>;
const PAGE_SIZE = 25;

/** Every organization for platform admins: owner, members, balance, this month's charges, status. */
export function AdminOrgsTable() {
  const [q, setQ] = useState("");
  const [page, setPage] = useState(1);
  const params = new URLSearchParams({ all: "1", page: String(page), pageSize: String(PAGE_SIZE) });
  if (q.trim()) params.set("q", q.trim());
  const { data, error, refetch } = useQuery({
    queryKey: ["orgs", "all", q.trim(), page],
    queryFn: () => api<{ items: Row[]; total: number }>(`/api/v1/orgs?${params}`),
    placeholderData: keepPreviousData,
  });
  if (error) return <QueryError error={error} retry={() => refetch()} />;
  return (
    <Card>
      <CardContent className="grid gap-4">
        <div className="relative max-w-md">
          <Search className="absolute top-2.5 left-2.5 size-4 text-muted-foreground" />
          <Input
            aria-label="Search organizations"
            placeholder="Search by name, slug or owner email"
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
              <TableHead>Organization</TableHead>
              <TableHead>Owner</TableHead>
              <TableHead className="text-right">Members</TableHead>
              <TableHead className="text-right">Available</TableHead>
              <TableHead className="text-right">Charged this month</TableHead>
              <TableHead>Status</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {data?.items.length === 0 ? (
              <TableMessage colSpan={6}>
                {q.trim()
                  ? "No organization matches."
                  : "No organizations yet. Create one for a user here, or developers create their own under Organizations."}
              </TableMessage>
            ) : null}
            {data?.items.map((o) => (
              <TableRow key={o.id} data-testid={`admin-org-row-${o.slug}`}>
                <TableCell>
                  <Link
                    href={`/admin/orgs/${o.id}`}
                    className="block max-w-64 truncate font-medium text-primary hover:underline"
                    title={o.name}
                  >
                    {o.name}
                  </Link>
                  <span className="font-mono text-xs text-muted-foreground">{o.slug}</span>
                </TableCell>
                <TableCell>
                  {o.ownerEmail ? (
                    <TableTruncate text={o.ownerEmail} className="max-w-64" />
                  ) : (
                    <span className="text-muted-foreground">—</span>
                  )}
                </TableCell>
                <TableCell className="text-right tabular-nums">
                  {o.memberCount.toLocaleString("en-US")}
                </TableCell>
                <TableCell
                  className={cn("text-right tabular-nums", o.availableMicros < 0 && "text-destructive")}
                >
                  <Money micros={o.availableMicros} />
                  {o.seatsDueMicros > 0 ? (
                    <span className="block text-xs text-destructive">
                      <Money micros={o.seatsDueMicros} /> seats due
                    </span>
                  ) : null}
                </TableCell>
                <TableCell className="text-right tabular-nums">
                  <Money micros={o.monthChargedMicros} />
                </TableCell>
                <TableCell>
                  <Badge variant={o.status === "active" ? "success" : "destructive"}>{o.status}</Badge>
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
        <div className="flex items-center justify-between text-sm text-muted-foreground">
          <span>
            {data ? `${data.total.toLocaleString("en-US")} organization${data.total === 1 ? "" : "s"}` : ""}
          </span>
          <Pager page={page} pages={pageCount(data?.total, PAGE_SIZE)} onPage={setPage} />
        </div>
      </CardContent>
    </Card>
  );
}
