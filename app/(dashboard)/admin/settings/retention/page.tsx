import type { Metadata } from "next";
import { RetentionPanel } from "@/components/retention/retention-panel";
import { PageHeader } from "@/components/shell/page-header";
import { requireUser } from "@/lib/auth/current";
import { db } from "@/lib/db";
import { asJson } from "@/lib/orgs/overview";
import { retentionOverview } from "@/lib/retention/views";

export const metadata: Metadata = { title: "Data retention" };
export const dynamic = "force-dynamic";

/** What is kept and for how long (admins): the policy, each usage partition's day and state, the last runs. */
export default async function RetentionPage() {
  const user = await requireUser("admin");
  const overview = await retentionOverview(db(), { userId: user.userId, kind: "user", role: "admin" });
  return (
    <>
      <PageHeader
        title="Data retention"
        description="How long usage detail, hourly roll-ups and playground conversations are kept, and what left."
      />
      <RetentionPanel overview={asJson(overview)} />
    </>
  );
}
