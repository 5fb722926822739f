import type * as React from "react";
import { TableScroller } from "@/components/ui/table-scroller";
import { UtcTime } from "@/components/ui/utc-time";
import { cn } from "@/lib/utils";

/**
 * A table that never widens its card or the page: past its box it scrolls sideways inside its own container
 * (min-w-0 lets a flex or grid parent shrink it; the cards around tables are min-w-0 too).
 */
function Table({ className, ...props }: React.ComponentProps<"table">) {
  return (
    <TableScroller>
      <table data-slot="table" className={cn("w-full caption-bottom text-sm", className)} {...props} />
    </TableScroller>
  );
}

function TableHeader({ className, ...props }: React.ComponentProps<"thead">) {
  return <thead data-slot="table-header" className={cn("[&_tr]:border-b", className)} {...props} />;
}

function TableBody({ className, ...props }: React.ComponentProps<"tbody">) {
  return <tbody data-slot="table-body" className={cn("[&_tr:last-child]:border-0", className)} {...props} />;
}

function TableRow({ className, ...props }: React.ComponentProps<"tr">) {
  return (
    <tr
      data-slot="table-row"
      className={cn("border-b transition-colors hover:bg-muted/50 data-[state=selected]:bg-muted", className)}
      {...props}
    />
  );
}

function TableHead({ className, ...props }: React.ComponentProps<"th">) {
  return (
    <th
      data-slot="table-head"
      className={cn(
        "h-10 px-3 text-left align-middle font-medium whitespace-nowrap text-muted-foreground",
        className,
      )}
      {...props}
    />
  );
}

function TableCell({ className, ...props }: React.ComponentProps<"td">) {
  return (
    <td
      data-slot="table-cell"
      className={cn("px-3 py-2.5 align-middle whitespace-nowrap", className)}
      {...props}
    />
  );
}

function TableCaption({ className, ...props }: React.ComponentProps<"caption">) {
  return (
    <caption
      data-slot="table-caption"
      className={cn("mt-4 text-sm text-muted-foreground", className)}
      {...props}
    />
  );
}

export { Table, TableBody, TableCaption, TableCell, TableHead, TableHeader, TableRow };

/** A full-width row for "Loading…" / "Nothing yet." states. */
function TableMessage({ colSpan, children }: { colSpan: number; children: React.ReactNode }) {
  return (
    <TableRow>
      <TableCell colSpan={colSpan} className="whitespace-normal text-muted-foreground">
        {children}
      </TableCell>
    </TableRow>
  );
}

/** An instant in the console's one format ("2026-12-04 19:11 UTC"), the exact ISO instant on hover. */
function TableTimeCell({ iso }: { iso: string }) {
  return (
    <TableCell className="text-xs text-muted-foreground">
      <UtcTime at={iso} />
    </TableCell>
  );
}

/**
 * Long text in a cell (an email, an id, a key's name) cut with an ellipsis at `className`'s max width (16rem by
 * default), the full value on hover: the columns after it stay in view.
 */
function TableTruncate({
  text,
  className,
  children,
}: {
  text: string;
  className?: string;
  children?: React.ReactNode;
}) {
  return (
    <span title={text} className={cn("block max-w-64 truncate", className)}>
      {children ?? text}
    </span>
  );
}

export { TableMessage, TableTimeCell, TableTruncate };
