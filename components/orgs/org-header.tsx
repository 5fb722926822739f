import { PageHeader } from "@/components/shell/page-header";
import { Badge } from "@/components/ui/badge";
import { CopyButton } from "@/components/ui/copy-button";
import Link from "@/components/ui/link";
import type { OrgAbilities } from "@/lib/orgs/overview";
import type { Org } from "@/lib/orgs/types";
import { cn } from "@/lib/utils";

export type OrgTab =
  | "overview"
  | "members"
  | "keys"
  | "billing"
  | "statements"
  | "webhooks"
  | "guardrails"
  | "provider-keys"
  | "settings";

const TABS: { tab: OrgTab; label: string; path: string; shown: (can: OrgAbilities) => boolean }[] = [
  { tab: "overview", label: "Overview", path: "", shown: () => true },
  { tab: "members", label: "Members", path: "/members", shown: () => true },
  { tab: "keys", label: "Keys", path: "/keys", shown: (can) => can.ownKeys },
  { tab: "billing", label: "Billing", path: "/billing", shown: (can) => can.billing },
  // Statements: owners, admins and billing members (ORG_VERBS.statements, the same roles as usage.all).
  { tab: "statements", label: "Statements", path: "/statements", shown: (can) => can.seeAllUsage },
  // Webhooks: owners and admins (ORG_VERBS.webhooks, the same roles as settings).
  { tab: "webhooks", label: "Webhooks", path: "/webhooks", shown: (can) => can.settings },
  // Guardrails & cache: every member sees them (read-only unless owner or admin: ORG_VERBS.policies).
  { tab: "guardrails", label: "Guardrails & cache", path: "/guardrails", shown: () => true },
  // Provider keys (BYOK): every member sees them masked; owners and admins change them.
  { tab: "provider-keys", label: "Provider keys", path: "/provider-keys", shown: () => true },
  { tab: "settings", label: "Settings", path: "/settings", shown: (can) => can.settings },
];

/** The tabs of an organization's pages a role may open (a billing member has no keys; members no settings). */
export function orgTabs(slug: string, can: OrgAbilities) {
  return TABS.filter((t) => t.shown(can)).map((t) => ({ ...t, href: `/orgs/${slug}${t.path}` }));
}

/**
 * The title of an organization's pages: its name, the actor's role, its status, breadcrumbs back to the list, and
 * the tabs the actor's role may open.
 */
export function OrgHeader({
  org,
  can,
  tab,
  title,
  description,
  actions,
  admin = false,
}: {
  org: Org;
  can: OrgAbilities;
  tab: OrgTab;
  title?: string;
  description?: string;
  actions?: React.ReactNode;
  /** The admin's page of the organization (/admin/orgs/[id]): breadcrumbs through Admin → Organizations. */
  admin?: boolean;
}) {
  const tabs = orgTabs(org.slug, can);
  const current = TABS.find((t) => t.tab === tab)!;
  const breadcrumbs = admin
    ? [{ label: "Admin" }, { label: "Organizations", href: "/admin/orgs" }, { label: org.name }]
    : [
        { label: "Organizations", href: "/orgs" },
        ...(tab === "overview"
          ? [{ label: org.name }]
          : [{ label: org.name, href: `/orgs/${org.slug}` }, { label: current.label }]),
      ];
  return (
    <>
      <PageHeader
        title={title ?? org.name}
        breadcrumbs={breadcrumbs}
        description={description}
        actions={actions}
      />
      <div className="-mt-4 mb-6 grid gap-3">
        <div className="flex flex-wrap items-center gap-2 text-sm text-muted-foreground">
          <span className="inline-flex items-center gap-1">
            <span className="font-mono text-xs" data-testid="org-slug">
              {org.slug}
            </span>
            <CopyButton text={org.slug} label="Copy slug" />
          </span>
          <span aria-hidden>·</span>
          <span data-testid="org-role">
            {org.role ? (
              <>
                You are <Badge variant="secondary">{org.role}</Badge>
              </>
            ) : (
              <Badge variant="outline">platform admin</Badge>
            )}
          </span>
          {org.status === "suspended" ? <Badge variant="destructive">suspended</Badge> : null}
        </div>
        {admin ? null : (
          <nav aria-label={`${org.name} pages`} className="flex flex-wrap gap-1 border-b">
            {tabs.map((t) => (
              <Link
                key={t.tab}
                href={t.href}
                aria-current={t.tab === tab ? "page" : undefined}
                className={cn(
                  "-mb-px border-b-2 px-3 py-2 text-sm transition-colors hover:text-foreground",
                  t.tab === tab
                    ? "border-primary font-medium text-foreground"
                    : "border-transparent text-muted-foreground",
                )}
              >
                {t.label}
              </Link>
            ))}
          </nav>
        )}
      </div>
    </>
  );
}
