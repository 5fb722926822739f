import { AlertBanner } from "@/components/analytics/alerts";
import { CommandPalette } from "@/components/shell/command-palette";
import { Logo } from "@/components/shell/logo";
import { MobileNav } from "@/components/shell/mobile-nav";
import { OrgSwitcher } from "@/components/shell/org-switcher";
import { Sidebar } from "@/components/shell/sidebar";
import { UserMenu } from "@/components/shell/user-menu";
import Link from "@/components/ui/link";
import { requireUser } from "@/lib/auth/current";
import { db } from "@/lib/db";
import { listMyOrgs } from "@/lib/orgs/read";

export const dynamic = "force-dynamic";

export default async function DashboardLayout({ children }: { children: React.ReactNode }) {
  const user = await requireUser();
  const orgs = await listMyOrgs(db(), { userId: user.userId, kind: "user", role: user.role });
  return (
    <div className="flex min-h-screen">
      <Sidebar role={user.role} />
      <div className="flex min-w-0 flex-1 flex-col">
        <header className="sticky top-0 z-40 flex h-14 items-center gap-2 border-b bg-background px-3 sm:px-6">
          <MobileNav role={user.role} />
          <Link href="/" className="md:hidden" aria-label="Tollgate home">
            <Logo />
          </Link>
          <div className="flex min-w-0 flex-1 items-center justify-end gap-2">
            <OrgSwitcher orgs={orgs.map((o) => ({ slug: o.slug, name: o.name, role: o.role ?? "admin" }))} />
            <CommandPalette role={user.role} />
            <UserMenu email={user.email} name={user.name} role={user.role} />
          </div>
        </header>
        <main className="mx-auto w-full max-w-screen-2xl min-w-0 flex-1 px-4 py-6 sm:px-6 lg:px-8">
          {user.role === "admin" ? <AlertBanner /> : null}
          {children}
        </main>
      </div>
    </div>
  );
}
