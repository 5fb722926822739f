import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { PageHeader } from "@/components/shell/page-header";
import { StatementView } from "@/components/statements/statement-view";
import { StatementsList } from "@/components/statements/statements-list";
import { requireUser } from "@/lib/auth/current";
import { monthName } from "@/lib/statements/compute";
import { openStatement, openStatements } from "../../../../statements-page";

export const metadata: Metadata = { title: "Account statements" };
export const dynamic = "force-dynamic";

/** Any account's monthly statements, as its holder sees them (admins); ?month= opens one. */
export default async function AdminStatementsPage({
  params,
  searchParams,
}: {
  params: Promise<{ id: string }>;
  searchParams: Promise<{ month?: string }>;
}) {
  const user = await requireUser("admin");
  const { id } = await params;
  if (!/^[0-9a-f-]{36}$/i.test(id)) notFound();
  const { month } = await searchParams;
  const scope = { kind: "account" as const, accountId: id };
  const base = `/admin/accounts/${id}/statements`;
  const api = `/api/v1/accounts/${id}/statements`;
  const crumbs = [
    { label: "Admin" },
    { label: "Accounts", href: "/admin/accounts" },
    { label: "Account", href: `/admin/accounts/${id}` },
  ];
  if (month) {
    const statement = await openStatement(user, scope, month);
    return (
      <>
        <PageHeader
          title={`${statement.holder}: ${monthName(statement.month)}`}
          breadcrumbs={[
            ...crumbs,
            { label: "Statements", href: base },
            { label: monthName(statement.month) },
          ]}
        />
        <StatementView statement={statement} apiPath={api} />
      </>
    );
  }
  const items = await openStatements(user, scope);
  return (
    <>
      <PageHeader
        title="Statements"
        breadcrumbs={[...crumbs, { label: "Statements" }]}
        description="The account's monthly statements, as its holder sees them."
      />
      <StatementsList items={items} basePath={base} apiPath={api} />
    </>
  );
}
