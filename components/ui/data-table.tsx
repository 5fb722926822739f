"use client";

import {
  type ColumnDef,
  flexRender,
  getCoreRowModel,
  getSortedRowModel,
  type SortingState,
  useReactTable,
} from "@tanstack/react-table";
import { ArrowDown, ArrowUp, ArrowUpDown } from "lucide-react";
import { useState } from "react";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { cn } from "@/lib/utils";

/**
 * What a column may say about itself: `numeric` right-aligns it (amounts, counts); `className` goes on its header
 * and cells (e.g. "hidden lg:table-cell" for a column that only wide screens show).
 */
export interface ColumnMeta {
  numeric?: boolean;
  className?: string;
}

/**
 * A TanStack Table with sortable headers (buttons: Tab to a header, Enter or Space to sort), an optional row
 * action (click, or Enter on the focused row), loading skeleton rows and an empty state.
 */
export function DataTable<T>({
  columns,
  data,
  loading,
  empty,
  onRow,
  rowTestId,
  rowKey,
}: {
  columns: ColumnDef<T, unknown>[];
  data: T[];
  loading?: boolean;
  empty: React.ReactNode;
  onRow?: (row: T) => void;
  rowTestId?: string;
  rowKey?: (row: T) => string;
}) {
  const [sorting, setSorting] = useState<SortingState>([]);
  const table = useReactTable({
    data,
    columns,
    state: { sorting },
    onSortingChange: setSorting,
    getCoreRowModel: getCoreRowModel(),
    getSortedRowModel: getSortedRowModel(),
    getRowId: rowKey ? (row) => rowKey(row) : undefined,
  });
  const width = columns.length;
  const metaOf = (def: ColumnDef<T, unknown>) => (def.meta ?? {}) as ColumnMeta;
  return (
    <Table>
      <TableHeader>
        {table.getHeaderGroups().map((group) => (
          <TableRow key={group.id}>
            {group.headers.map((header) => {
              const sorted = header.column.getIsSorted();
              const { numeric, className } = metaOf(header.column.columnDef);
              return (
                <TableHead
                  key={header.id}
                  className={cn(numeric && "text-right", className)}
                  aria-sort={sorted === "asc" ? "ascending" : sorted === "desc" ? "descending" : undefined}
                >
                  {header.isPlaceholder ? null : header.column.getCanSort() ? (
                    <button
                      type="button"
                      className={cn(
                        "inline-flex items-center gap-1 rounded-sm hover:text-foreground focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none",
                        numeric && "flex-row-reverse",
                      )}
                      onClick={header.column.getToggleSortingHandler()}
                    >
                      {flexRender(header.column.columnDef.header, header.getContext())}
                      {sorted === "asc" ? (
                        <ArrowUp className="size-3" />
                      ) : sorted === "desc" ? (
                        <ArrowDown className="size-3" />
                      ) : (
                        <ArrowUpDown className="size-3 opacity-40" />
                      )}
                    </button>
                  ) : (
                    flexRender(header.column.columnDef.header, header.getContext())
                  )}
                </TableHead>
              );
            })}
          </TableRow>
        ))}
      </TableHeader>
      <TableBody>
        {loading ? (
          Array.from({ length: 5 }, (_, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: placeholder rows have no identity
            <TableRow key={i} data-testid="skeleton-row">
              <TableCell colSpan={width}>
                <div className="h-4 w-full animate-pulse rounded bg-muted" />
              </TableCell>
            </TableRow>
          ))
        ) : table.getRowModel().rows.length === 0 ? (
          <TableRow>
            <TableCell colSpan={width} className="py-8 text-center text-muted-foreground">
              {empty}
            </TableCell>
          </TableRow>
        ) : (
          table.getRowModel().rows.map((row) => (
            <TableRow
              key={row.id}
              data-testid={rowTestId}
              tabIndex={onRow ? 0 : undefined}
              className={cn(onRow && "cursor-pointer focus-visible:bg-muted/60 focus-visible:outline-none")}
              onClick={onRow ? () => onRow(row.original) : undefined}
              onKeyDown={
                onRow
                  ? (e) => {
                      if (e.key === "Enter") onRow(row.original);
                    }
                  : undefined
              }
            >
              {row.getVisibleCells().map((cell) => {
                const { numeric, className } = metaOf(cell.column.columnDef);
                return (
                  <TableCell key={cell.id} className={cn(numeric && "text-right tabular-nums", className)}>
                    {flexRender(cell.column.columnDef.cell, cell.getContext())}
                  </TableCell>
                );
              })}
            </TableRow>
          ))
        )}
      </TableBody>
    </Table>
  );
}

/** An error state with a retry button, for any query. */
export function QueryError({ error, retry }: { error: Error; retry: () => void }) {
  return (
    <div
      role="alert"
      className="flex items-center justify-between gap-4 rounded-md border border-destructive/40 bg-destructive/5 p-3 text-sm"
    >
      <span className="text-destructive">{error.message}</span>
      <button type="button" className="rounded-md border px-3 py-1 text-sm hover:bg-muted" onClick={retry}>
        Retry
      </button>
    </div>
  );
}
