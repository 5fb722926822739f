"use client";

import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { Fragment, useState } from "react";
import { Badge } from "@/components/ui/badge";
import { Card, CardContent } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
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
import type { AuditRow as AuditEntry } from "@/lib/audit/list";
import type { Json } from "@/lib/json";
import { api } from "@/lib/ui/api";

type AuditRow = Json<AuditEntry>;

const PAGE_SIZE = 50;

export function AuditTable() {
  const [action, setAction] = useState("");
  const [page, setPage] = useState(1);
  const [open, setOpen] = useState<string | null>(null);
  const params = new URLSearchParams({ page: String(page), pageSize: String(PAGE_SIZE) });
  if (action.trim()) params.set("action", action.trim());
  const { data, isLoading } = useQuery({
    queryKey: ["audit", page, action.trim()],
    queryFn: () => api<{ items: AuditRow[]; total: number }>(`/api/v1/audit?${params}`),
    placeholderData: keepPreviousData,
  });
  const pages = pageCount(data?.total, PAGE_SIZE);

  return (
    <Card>
      <CardContent className="grid gap-4">
        <Input
          aria-label="Filter by action"
          placeholder="Filter by action, e.g. user.suspend"
          className="max-w-sm"
          value={action}
          onChange={(e) => {
            setAction(e.target.value);
            setPage(1);
          }}
        />
        <Table>
          <TableHeader>
            <TableRow>
              <TableHead>When (UTC)</TableHead>
              <TableHead>Actor</TableHead>
              <TableHead>Action</TableHead>
              <TableHead>Target</TableHead>
              <TableHead>IP</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {isLoading ? (
              <TableMessage colSpan={5}>Loading…</TableMessage>
            ) : data?.items.length === 0 ? (
              <TableMessage colSpan={5}>Nothing recorded yet.</TableMessage>
            ) : (
              data?.items.map((row) => (
                <Fragment key={row.id}>
                  <TableRow
                    className="cursor-pointer"
                    onClick={() => setOpen(open === row.id ? null : row.id)}
                  >
                    <TableTimeCell iso={row.at} />
                    <TableCell>
                      {row.actorEmail ?? <Badge variant="secondary">{row.actorKind}</Badge>}
                    </TableCell>
                    <TableCell>
                      <Badge variant="outline">{row.action}</Badge>
                    </TableCell>
                    <TableCell className="font-mono text-xs">
                      {row.targetType}
                      {row.targetId ? `:${row.targetId.slice(0, 8)}` : ""}
                    </TableCell>
                    <TableCell className="text-muted-foreground">{row.ip ?? "—"}</TableCell>
                  </TableRow>
                  {open === row.id ? (
                    <TableRow>
                      <TableCell colSpan={5} className="bg-muted/40">
                        <div className="grid gap-3 md:grid-cols-2">
                          <Snapshot title="Before" value={row.before} />
                          <Snapshot title="After" value={row.after} />
                        </div>
                      </TableCell>
                    </TableRow>
                  ) : null}
                </Fragment>
              ))
            )}
          </TableBody>
        </Table>
        <div className="flex justify-end">
          <Pager page={page} pages={pages} onPage={setPage} />
        </div>
      </CardContent>
    </Card>
  );
}

function Snapshot({ title, value }: { title: string; value: unknown }) {
  return (
    <div className="grid gap-1">
      <div className="text-xs font-medium text-muted-foreground">{title}</div>
      <pre className="overflow-x-auto rounded-md border bg-background p-2 text-xs whitespace-pre-wrap">
        {value === null || value === undefined ? "—" : JSON.stringify(value, null, 2)}
      </pre>
    </div>
  );
}
