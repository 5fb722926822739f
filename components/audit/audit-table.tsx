"use client";

import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { Fragment, useEffect, useState } from "react";
import { Badge } from "@/components/ui/badge";
import { Card, CardContent } from "@/components/ui/card";
import { Field } from "@/components/ui/form";
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
  TableTruncate,
} from "@/components/ui/table";
import type { AuditRow as AuditEntry } from "@/lib/audit/list";
import type { Json } from "@/lib/json";
import { api } from "@/lib/ui/api";

type AuditRow = Json<AuditEntry>;

const PAGE_SIZE = 50;

const FILTERS = [
  { key: "action", label: "Action", placeholder: "user.suspend, or key. for every key action", type: "text" },
  { key: "actor", label: "Actor", placeholder: "part of an email", type: "text" },
  { key: "targetType", label: "Target type", placeholder: "api_key, account, plan…", type: "text" },
  { key: "from", label: "From (UTC day)", placeholder: "", type: "date" },
  { key: "to", label: "To (UTC day)", placeholder: "", type: "date" },
] as const;
type FilterKey = (typeof FILTERS)[number]["key"];

/** The audit log with its filters kept in the URL, so a filtered view can be shared. */
export function AuditTable() {
  const router = useRouter();
  const pathname = usePathname();
  const search = useSearchParams();
  const read = () =>
    Object.fromEntries(FILTERS.map((f) => [f.key, search.get(f.key) ?? ""])) as Record<FilterKey, string>;
  const [filters, setFilters] = useState(read);
  const [page, setPage] = useState(Number(search.get("page") ?? 1) || 1);
  const [open, setOpen] = useState<string | null>(null);
  const params = new URLSearchParams();
  for (const f of FILTERS) if (filters[f.key].trim()) params.set(f.key, filters[f.key].trim());
  if (page > 1) params.set("page", String(page));
  const shared = params.toString();
  // The URL follows the filters (debounced while typing), without a navigation.
  useEffect(() => {
    const t = setTimeout(
      () => router.replace(shared ? `${pathname}?${shared}` : pathname, { scroll: false }),
      300,
    );
    return () => clearTimeout(t);
  }, [shared, pathname, router]);
  const { data, isLoading, error } = useQuery({
    queryKey: ["audit", shared],
    queryFn: () => api<{ items: AuditRow[]; total: number }>(`/api/v1/audit?${shared}&pageSize=${PAGE_SIZE}`),
    placeholderData: keepPreviousData,
  });
  const pages = pageCount(data?.total, PAGE_SIZE);

  return (
    <Card>
      <CardContent className="grid gap-4">
        <div className="grid grid-cols-1 gap-2 sm:grid-cols-2 lg:grid-cols-5">
          {FILTERS.map((f) => (
            <Field key={f.key} id={`audit-${f.key}`} label={f.label}>
              <Input
                id={`audit-${f.key}`}
                aria-label={`Filter by ${f.label.toLowerCase()}`}
                type={f.type}
                placeholder={f.placeholder}
                value={filters[f.key]}
                onChange={(e) => {
                  setFilters({ ...filters, [f.key]: e.target.value });
                  setPage(1);
                }}
              />
            </Field>
          ))}
        </div>
        {error ? <p className="text-sm text-destructive">{error.message}</p> : null}
        <Table>
          <TableHeader>
            <TableRow>
              <TableHead>When</TableHead>
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
              <TableMessage colSpan={5}>
                {shared ? "No entries match these filters." : "Nothing recorded yet."}
              </TableMessage>
            ) : (
              data?.items.map((row) => (
                <Fragment key={row.id}>
                  <TableRow
                    className="cursor-pointer focus-visible:bg-muted/60 focus-visible:outline-none"
                    tabIndex={0}
                    data-state={open === row.id ? "selected" : undefined}
                    onClick={() => setOpen(open === row.id ? null : row.id)}
                    onKeyDown={(e) => {
                      if (e.key === "Enter" || e.key === " ") {
                        e.preventDefault();
                        setOpen(open === row.id ? null : row.id);
                      }
                    }}
                  >
                    <TableTimeCell iso={row.at} />
                    <TableCell>
                      {row.actorEmail ? (
                        <TableTruncate text={row.actorEmail} />
                      ) : (
                        <Badge variant="secondary">{row.actorKind}</Badge>
                      )}
                    </TableCell>
                    <TableCell>
                      <Badge variant="outline">{row.action}</Badge>
                    </TableCell>
                    <TableCell className="font-mono text-xs">
                      <span title={row.targetId ? `${row.targetType}:${row.targetId}` : row.targetType}>
                        {row.targetType}
                        {row.targetId ? `:${row.targetId.slice(0, 8)}` : ""}
                      </span>
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
    <div className="grid min-w-0 gap-1">
      <div className="text-xs font-medium text-muted-foreground">{title}</div>
      <pre className="overflow-x-auto rounded-md border bg-background p-2 text-xs whitespace-pre-wrap">
        {value === null || value === undefined ? "—" : JSON.stringify(value, null, 2)}
      </pre>
    </div>
  );
}
