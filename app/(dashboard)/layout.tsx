import { AlertBanner } from "@/components/analytics/alerts";
import { Sidebar } from "@/components/shell/sidebar";
import { UserMenu } from "@/components/shell/user-menu";
import { requireUser } from "@/lib/auth/current";

export const dynamic = "force-dynamic";

export default async function DashboardLayout({ children }: { children: React.ReactNode }) {
  const user = await requireUser();
  return (
    <div className="flex min-h-screen">
      <Sidebar role={user.role} />
      <div className="flex min-w-0 flex-1 flex-col">
        <header className="flex h-14 items-center justify-end gap-2 border-b px-6">
          <UserMenu email={user.email} name={user.name} role={user.role} />
        </header>
        <main className="mx-auto w-full max-w-6xl flex-1 p-6">
          {user.role === "admin" ? <AlertBanner /> : null}
          {children}
        </main>
      </div>
    </div>
  );
}
