"use client";

import { usePathname, useRouter } from "next/navigation";
import { LedgerCard } from "@/components/billing/ledger-table";
import type { LedgerView } from "@/components/billing/queries";

/** The organization's statement, read on the server a page at a time (?page= in the address). */
export function OrgLedger({
  items,
  page,
  pages,
  capped,
}: {
  items: LedgerView[];
  page: number;
  pages: number;
  capped?: { total: number; statements: string };
}) {
  const router = useRouter();
  const pathname = usePathname();
  return (
    <LedgerCard
      items={items}
      page={page}
      pages={pages}
      onPage={(next) => router.push(next > 1 ? `${pathname}?page=${next}` : pathname, { scroll: false })}
      capped={capped}
      description="Every movement of the organization's money: top-ups, codes, charges for calls and seat fees, with the balance after each."
    />
  );
}
