import type { Metadata } from "next";
import { PageHeader } from "@/components/shell/page-header";
import { StatementView } from "@/components/statements/statement-view";
import { StatementsList } from "@/components/statements/statements-list";
import { requireUser } from "@/lib/auth/current";
import { monthName } from "@/lib/statements/compute";
import { openStatement, openStatements } from "../../statements-page";

export const metadata: Metadata = { title: "Statements" };
export const dynamic = "force-dynamic";

const BASE = "/account/statements";
const API = "/api/v1/account/statements";

/** The signed-in person's monthly statements of their own account; ?month=YYYY-MM opens one. */
export default async function MyStatementsPage({
  searchParams,
}: {
  searchParams: Promise<{ month?: string }>;
}) {
  const user = await requireUser();
  const { month } = await searchParams;
  if (month) {
    const statement = await openStatement(user, { kind: "own" }, month);
    return (
      <>
        <PageHeader
          title={`Statement for ${monthName(statement.month)}`}
          breadcrumbs={[{ label: "Statements", href: BASE }, { label: monthName(statement.month) }]}
        />
        <StatementView statement={statement} apiPath={API} />
      </>
    );
  }
  const items = await openStatements(user, { kind: "own" });
  return (
    <>
      <PageHeader
        title="Statements"
        description="Your account's monthly statements, with receipts for every credit."
      />
      <StatementsList items={items} basePath={BASE} apiPath={API} />
    </>
  );
}
