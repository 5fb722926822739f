import type { Metadata } from "next";
import { AdminOrgsTable } from "@/components/orgs/admin-orgs-table";
import { CreateOrgDialog } from "@/components/orgs/create-org-dialog";
import { PageHeader } from "@/components/shell/page-header";
import { requireUser } from "@/lib/auth/current";

export const metadata: Metadata = { title: "Organizations" };

/** Every organization: owner, members, balance, this month's charges and status; create one for a user. */
export default async function AdminOrganizationsPage() {
  await requireUser("admin");
  return (
    <>
      <PageHeader
        title="Organizations"
        description="Teams sharing one balance. Open one to see its spend by member, suspend it or change its plan."
        actions={<CreateOrgDialog forUser />}
      />
      <AdminOrgsTable />
    </>
  );
}
