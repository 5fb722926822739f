import type { Metadata } from "next";
import { OrgHeader } from "@/components/orgs/org-header";
import { StatementView } from "@/components/statements/statement-view";
import { StatementsList } from "@/components/statements/statements-list";
import { requireUser } from "@/lib/auth/current";
import { monthName } from "@/lib/statements/compute";
import { openStatement, openStatements } from "../../../statements-page";
import { openOrgPage } from "../../page-org";

export const metadata: Metadata = { title: "Organization statements" };
export const dynamic = "force-dynamic";

/** An organization's monthly statements (owner, admin and billing members; platform admins); ?month= opens one. */
export default async function OrgStatementsPage({
  params,
  searchParams,
}: {
  params: Promise<{ slug: string }>;
  searchParams: Promise<{ month?: string }>;
}) {
  const user = await requireUser();
  const { page } = await openOrgPage(user, (await params).slug);
  const { month } = await searchParams;
  const scope = { kind: "org" as const, ref: page.org.id };
  const api = `/api/v1/orgs/${page.org.slug}/statements`;
  if (month) {
    const statement = await openStatement(user, scope, month);
    return (
      <>
        <OrgHeader
          org={page.org}
          can={page.can}
          tab="statements"
          title={`Statement for ${monthName(statement.month)}`}
        />
        <StatementView statement={statement} apiPath={api} />
      </>
    );
  }
  const items = await openStatements(user, scope);
  return (
    <>
      <OrgHeader
        org={page.org}
        can={page.can}
        tab="statements"
        title="Statements"
        description={`${page.org.name}'s monthly statements: every credit, charge, seat fee and adjustment.`}
      />
      <StatementsList items={items} basePath={`/orgs/${page.org.slug}/statements`} apiPath={api} />
    </>
  );
}
