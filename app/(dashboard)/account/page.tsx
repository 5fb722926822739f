import type { Metadata } from "next";
import { PasswordCard } from "@/components/account/password-card";
import { SessionsCard } from "@/components/account/sessions-card";
import { ExportCard } from "@/components/gdpr/export-card";
import { PageHeader } from "@/components/shell/page-header";
import { Badge } from "@/components/ui/badge";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { requireUser } from "@/lib/auth/current";

export const metadata: Metadata = { title: "Profile & sessions" };

export default async function AccountPage() {
  const user = await requireUser();
  return (
    <>
      <PageHeader
        title="Profile & sessions"
        description="Your profile, your password and where you are signed in."
      />
      <div className="grid gap-6">
        <Card>
          <CardHeader>
            <CardTitle>Profile</CardTitle>
          </CardHeader>
          <CardContent>
            <dl className="grid grid-cols-[8rem_1fr] gap-y-2 text-sm">
              <dt className="text-muted-foreground">Email</dt>
              <dd data-testid="profile-email">{user.email}</dd>
              <dt className="text-muted-foreground">Name</dt>
              <dd>{user.name || "—"}</dd>
              <dt className="text-muted-foreground">Role</dt>
              <dd>
                <Badge variant="secondary">{user.role}</Badge>
              </dd>
              <dt className="text-muted-foreground">Signed in with</dt>
              <dd>{user.via === "local" ? "Email and password" : "Supabase"}</dd>
            </dl>
          </CardContent>
        </Card>
        {user.via === "local" ? (
          <>
            <PasswordCard />
            <SessionsCard />
          </>
        ) : null}
        <ExportCard
          title="Your data"
          description="Everything Tollgate holds about you, as one JSON file: profile, organizations, keys (never their secrets), calls with their charges, ledger entries, payments, invitations, conversations and audit entries."
          href="/api/v1/me/export"
          label="Export my data"
        />
      </div>
    </>
  );
}
