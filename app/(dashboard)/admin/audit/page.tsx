import type { Metadata } from "next";
import { AuditTable } from "@/components/audit/audit-table";
import { PageHeader } from "@/components/shell/page-header";
import { requireUser } from "@/lib/auth/current";

export const metadata: Metadata = { title: "Audit log" };

export default async function AuditPage() {
  await requireUser("admin");
  return (
    <>
      <PageHeader
        title="Audit log"
        description="Every administrative change, who made it and what it changed. Entries cannot be edited or deleted."
      />
      <AuditTable />
    </>
  );
}
