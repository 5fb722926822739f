import type { Metadata } from "next";
import { Suspense } from "react";
import { KeysPanel } from "@/components/keys/keys-panel";
import { PageHeader } from "@/components/shell/page-header";
import { requireUser } from "@/lib/auth/current";

export const metadata: Metadata = { title: "All API keys" };

export default async function AdminKeysPage() {
  await requireUser("admin");
  return (
    <>
      <PageHeader
        title="API keys"
        description="Every key issued by Tollgate, with its spend, budgets and limits. Edits, revocations and rotations take effect at the gateway within seconds."
      />
      <Suspense>
        <KeysPanel admin />
      </Suspense>
    </>
  );
}
