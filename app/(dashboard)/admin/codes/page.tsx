import type { Metadata } from "next";
import { CodesPanel } from "@/components/redemptions/codes-panel";
import { PageHeader } from "@/components/shell/page-header";
import { requireUser } from "@/lib/auth/current";

export const metadata: Metadata = { title: "Redemption codes" };

export default async function CodesPage() {
  await requireUser("admin");
  return (
    <>
      <PageHeader title="Redemption codes" description="Hand out credit: each code adds its amount once." />
      <CodesPanel />
    </>
  );
}
