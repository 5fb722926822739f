import type { Metadata } from "next";
import { ExportCard } from "@/components/gdpr/export-card";
import { OrgHeader } from "@/components/orgs/org-header";
import {
  DangerZone,
  GeneralSettings,
  LowBalanceSettings,
  PlanSettings,
} from "@/components/orgs/settings-form";
import { OrgRetentionSettings } from "@/components/retention/org-retention-form";
import { Card, CardContent } from "@/components/ui/card";
import { requireUser } from "@/lib/auth/current";
import { db } from "@/lib/db";
import { listModels } from "@/lib/models/catalog";
import { listMembers } from "@/lib/orgs/members";
import { asJson } from "@/lib/orgs/overview";
import { listPlans } from "@/lib/plans/manage";
import { getOrgRetention } from "@/lib/retention/policy";
import { openOrgPage } from "../../page-org";

export const metadata: Metadata = { title: "Organization settings" };
export const dynamic = "force-dynamic";

/** Name, budgets, models, the plan (platform admins change it) and, for the owner, the transfer of ownership. */
export default async function OrgSettingsPage({ params }: { params: Promise<{ slug: string }> }) {
  const user = await requireUser();
  const { page, actor } = await openOrgPage(user, (await params).slug);
  const { org, can } = page;
  if (!can.settings) {
    return (
      <>
        <OrgHeader org={org} can={can} tab="settings" title="Settings" />
        <Card data-testid="org-settings-none">
          <CardContent className="py-8 text-sm text-muted-foreground">
            The settings of {org.name} are for its owner and admins.
          </CardContent>
        </Card>
      </>
    );
  }
  const [catalog, members, plans, retention] = await Promise.all([
    listModels(db(), { userId: null, kind: "system" }),
    listMembers(db(), actor, org.id),
    can.platformAdmin ? listPlans(db(), actor) : Promise.resolve(null),
    getOrgRetention(db(), actor, org.slug),
  ]);
  // The models the organization may narrow to: the plan's, or every enabled model when the plan names none.
  const planModels = org.account.planAllowedModels;
  const models = catalog
    .filter((m) => m.enabled && (planModels.length === 0 || planModels.includes(m.publicName)))
    .map((m) => m.publicName);
  const view = asJson(org);
  return (
    <>
      <OrgHeader
        org={org}
        can={can}
        tab="settings"
        title="Settings"
        description={`How ${org.name} spends: its budgets, models and plan.`}
      />
      <div className="grid grid-cols-1 gap-6">
        <GeneralSettings org={view} models={models} />
        {can.billing ? <LowBalanceSettings org={view} /> : null}
        <PlanSettings
          org={view}
          plans={
            plans
              ? plans.map((p) => ({ id: p.id, name: p.name, seatPriceMicros: asJson(p.seatPriceMicros) }))
              : null
          }
        />
        <OrgRetentionSettings slug={org.slug} retention={asJson(retention)} />
        {can.ownership ? (
          <ExportCard
            title="Organization data"
            description={`Everything Tollgate holds about ${org.name}, as one JSON file: members, keys (never their secrets), calls with their charges, ledger entries, payments, seat charges, invitations and audit entries.`}
            href={`/api/v1/orgs/${org.slug}/export`}
            label="Export organization data"
          />
        ) : null}
        <DangerZone
          org={view}
          can={can}
          members={members.map((m) => ({ userId: m.userId, email: m.email, role: m.role }))}
        />
      </div>
    </>
  );
}
