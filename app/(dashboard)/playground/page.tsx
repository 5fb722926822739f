import type { Metadata } from "next";
import { Playground } from "@/components/playground/playground";
import { PageHeader } from "@/components/shell/page-header";
import { Card, CardContent } from "@/components/ui/card";
import Link from "@/components/ui/link";
import { requireUser } from "@/lib/auth/current";
import { gatewayPublicUrl } from "@/lib/config";
import { openOrgPage } from "../orgs/page-org";

export const metadata: Metadata = { title: "Playground" };

/** The chat playground, spending from the person's own balance or, with ?org=<slug>, from the organization's. */
export default async function PlaygroundPage({ searchParams }: { searchParams: Promise<{ org?: string }> }) {
  const user = await requireUser();
  const { org: ref } = await searchParams;
  const page = ref ? (await openOrgPage(user, ref)).page : null;
  if (page && !page.can.ownKeys) {
    return (
      <>
        <PageHeader title={`Playground · ${page.org.name}`} />
        <Card data-testid="playground-org-none">
          <CardContent className="py-8 text-sm text-muted-foreground">
            Your role in {page.org.name} ({page.org.role}) does not spend its money.{" "}
            <Link className="text-primary hover:underline" href="/playground">
              Use the playground with your own balance
            </Link>
          </CardContent>
        </Card>
      </>
    );
  }
  return (
    <>
      <PageHeader
        title={page ? `Playground · ${page.org.name}` : "Playground"}
        description={
          page
            ? `Chat with any model ${page.org.name} allows, streamed through the gateway and paid by ${page.org.name} within your caps.`
            : "Chat with any model in the catalog, streamed through the gateway."
        }
      />
      <Playground
        key={page?.org.slug ?? "personal"}
        gatewayUrl={gatewayPublicUrl()}
        org={page ? { slug: page.org.slug, name: page.org.name } : null}
      />
    </>
  );
}
