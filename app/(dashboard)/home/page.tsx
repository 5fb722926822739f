import type { Metadata } from "next";
import { LowBalance, RecentCalls, Shortcuts, StatCards } from "@/components/home/overview";
import { QuickStart } from "@/components/home/quick-start";
import { PageHeader } from "@/components/shell/page-header";
import { requireUser } from "@/lib/auth/current";
import { gatewayPublicUrl } from "@/lib/config";
import { db } from "@/lib/db";
import { homeOverview } from "@/lib/home/overview";

export const metadata: Metadata = { title: "Home" };
export const dynamic = "force-dynamic";

/** Where a developer lands after signing in: their balance and its pace, a first call to paste, their last calls. */
export default async function HomePage() {
  const user = await requireUser();
  const overview = await homeOverview(db(), { userId: user.userId, kind: "user", role: user.role });
  return (
    <>
      <PageHeader
        title={user.name ? `Welcome, ${user.name}` : "Welcome"}
        description={`Signed in as ${user.email}.`}
      />
      <div className="grid gap-6">
        {overview.account ? <LowBalance account={overview.account} /> : null}
        <StatCards overview={overview} />
        <div className="grid min-w-0 gap-6 lg:grid-cols-[minmax(0,1fr)_18rem]">
          <div className="grid min-w-0 content-start gap-6">
            <QuickStart
              gatewayUrl={gatewayPublicUrl()}
              model={overview.chatModel}
              apiKey={overview.key ? { name: overview.key.name, prefix: overview.key.prefix } : null}
              activeKeys={overview.activeKeys}
            />
            <RecentCalls calls={overview.recentCalls} />
          </div>
          <Shortcuts />
        </div>
      </div>
    </>
  );
}
