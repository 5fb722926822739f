import { Building2 } from "lucide-react";
import { Money } from "@/components/billing/money";
import { Badge } from "@/components/ui/badge";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import Link from "@/components/ui/link";
import { orgAllows } from "@/lib/orgs/access";
import type { OrgSummary } from "@/lib/orgs/types";
import { cn } from "@/lib/utils";

/** The pages of an organization a role may open, as links (a platform admin who is not a member: all of them). */
function links(org: OrgSummary) {
  const admin = org.role === null;
  const base = `/orgs/${org.slug}`;
  return [
    { href: `${base}/members`, label: "Members", shown: true },
    { href: `${base}/keys`, label: "Keys", shown: orgAllows(org, "keys.own", admin) },
    { href: `${base}/billing`, label: "Billing", shown: orgAllows(org, "billing", admin) },
    { href: `${base}/statements`, label: "Statements", shown: orgAllows(org, "statements", admin) },
    { href: `${base}/webhooks`, label: "Webhooks", shown: orgAllows(org, "webhooks", admin) },
    { href: `${base}/guardrails`, label: "Guardrails & cache", shown: true },
    { href: `${base}/provider-keys`, label: "Provider keys", shown: true },
    { href: `${base}/settings`, label: "Settings", shown: orgAllows(org, "settings", admin) },
  ].filter((l) => l.shown);
}

/** One card per organization: name, the person's role, available balance, members, and its pages. */
export function OrgCards({ orgs }: { orgs: OrgSummary[] }) {
  if (orgs.length === 0) {
    return (
      <Card data-testid="orgs-empty">
        <CardContent className="flex flex-col items-center gap-3 py-10 text-center">
          <Building2 className="size-8 text-muted-foreground" aria-hidden />
          <p className="font-medium">You are not in an organization yet.</p>
          <p className="max-w-md text-sm text-muted-foreground">
            Create one to give your team a shared balance with a cap per member, or open the invitation link a
            teammate emailed you to join theirs.
          </p>
        </CardContent>
      </Card>
    );
  }
  return (
    <div className="grid grid-cols-1 gap-4 md:grid-cols-2 2xl:grid-cols-3">
      {orgs.map((org) => (
        <Card key={org.id} data-testid={`org-card-${org.slug}`}>
          <CardHeader>
            <CardTitle className="flex min-w-0 flex-wrap items-center gap-2">
              <Link href={`/orgs/${org.slug}`} className="min-w-0 [overflow-wrap:anywhere] hover:underline">
                {org.name}
              </Link>
              {org.role ? (
                <Badge variant="secondary">{org.role}</Badge>
              ) : (
                <Badge variant="outline">platform admin</Badge>
              )}
              {org.status === "suspended" ? <Badge variant="destructive">suspended</Badge> : null}
            </CardTitle>
            <CardDescription className="font-mono text-xs">{org.slug}</CardDescription>
          </CardHeader>
          <CardContent className="grid gap-4">
            <dl className="grid grid-cols-2 gap-3 text-sm">
              <div className="grid gap-0.5">
                <dt className="text-xs text-muted-foreground">Available balance</dt>
                <dd
                  className={cn(
                    "text-lg font-semibold tabular-nums",
                    org.availableMicros < 0n && "text-destructive",
                  )}
                >
                  <Money micros={org.availableMicros} testId="org-card-available" />
                </dd>
              </div>
              <div className="grid gap-0.5">
                <dt className="text-xs text-muted-foreground">Members</dt>
                <dd className="text-lg font-semibold tabular-nums" data-testid="org-card-members">
                  {org.memberCount.toLocaleString("en-US")}
                </dd>
              </div>
            </dl>
            <nav aria-label={`${org.name} pages`} className="flex flex-wrap gap-x-4 gap-y-1 text-sm">
              <Link href={`/orgs/${org.slug}`} className="font-medium text-primary hover:underline">
                Overview
              </Link>
              {links(org).map((l) => (
                <Link key={l.href} href={l.href} className="text-primary hover:underline">
                  {l.label}
                </Link>
              ))}
            </nav>
          </CardContent>
        </Card>
      ))}
    </div>
  );
}
