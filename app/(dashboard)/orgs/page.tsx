import type { Metadata } from "next";
import { CreateOrgDialog } from "@/components/orgs/create-org-dialog";
import { OrgCards } from "@/components/orgs/org-cards";
import { PageHeader } from "@/components/shell/page-header";
import { requireUser } from "@/lib/auth/current";
import type { Actor } from "@/lib/auth/types";
import { db } from "@/lib/db";
import { listAllOrgs, listMyOrgs } from "@/lib/orgs/read";

export const metadata: Metadata = { title: "Organizations" };
export const dynamic = "force-dynamic";

/** The organizations the person belongs to; a platform admin also sees the others, to open any of them. */
export default async function OrganizationsPage() {
  const user = await requireUser();
  const actor: Actor = { userId: user.userId, kind: "user", role: user.role };
  const mine = await listMyOrgs(db(), actor);
  const others =
    user.role === "admin"
      ? (await listAllOrgs(db(), actor, { page: 1, pageSize: 24 })).items.filter((o) => o.role === null)
      : [];
  return (
    <>
      <PageHeader
        title="Organizations"
        description="Shared balances your team spends from, each member within their caps. Switch to one in the header to spend its money in the playground and with its keys."
        actions={<CreateOrgDialog />}
      />
      <OrgCards orgs={mine} />
      {others.length ? (
        <section className="mt-10 grid gap-3" aria-labelledby="other-orgs">
          <div className="grid gap-1">
            <h2 id="other-orgs" className="text-lg font-semibold">
              Other organizations
            </h2>
            <p className="text-sm text-muted-foreground">
              As a platform administrator you may open any organization; Admin → Organizations lists them all.
            </p>
          </div>
          <OrgCards orgs={others} />
        </section>
      ) : null}
    </>
  );
}
