import type { Metadata } from "next";
import { Suspense } from "react";
import { KeysPanel } from "@/components/keys/keys-panel";
import { PageHeader } from "@/components/shell/page-header";
import { Card, CardContent } from "@/components/ui/card";
import Link from "@/components/ui/link";
import { requireUser } from "@/lib/auth/current";
import { gatewayPublicUrl } from "@/lib/config";
import { openOrgPage } from "../../orgs/page-org";

export const metadata: Metadata = { title: "API keys" };

/** "My API keys": the person's own, or with ?org=<slug> (the header's switcher) their keys of that organization. */
export default async function MyKeysPage({ searchParams }: { searchParams: Promise<{ org?: string }> }) {
  const user = await requireUser();
  const url = gatewayPublicUrl();
  const { org: ref } = await searchParams;
  if (!ref) {
    return (
      <>
        <PageHeader
          title="API keys"
          description={`Your keys for the gateway at ${url}. A secret is shown once, when the key is created.`}
        />
        <Suspense>
          <KeysPanel admin={false} />
        </Suspense>
      </>
    );
  }
  const { page } = await openOrgPage(user, ref);
  const { org, can } = page;
  return (
    <>
      <PageHeader
        title={`API keys · ${org.name}`}
        description={`Your keys of ${org.name} for the gateway at ${url}: their calls are paid by ${org.name}, within your caps there. A secret is shown once.`}
      />
      {can.ownKeys ? (
        <Suspense>
          <KeysPanel admin={false} org={{ slug: org.slug, name: org.name, everyone: false }} />
        </Suspense>
      ) : (
        <Card data-testid="org-keys-none">
          <CardContent className="py-8 text-sm text-muted-foreground">
            Your role in {org.name} ({org.role}) has no keys.{" "}
            <Link className="text-primary hover:underline" href={`/orgs/${org.slug}`}>
              Open {org.name}
            </Link>
          </CardContent>
        </Card>
      )}
    </>
  );
}
