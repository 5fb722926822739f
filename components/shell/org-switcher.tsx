"use client";

import { useQuery } from "@tanstack/react-query";
import { Building2, Check, ChevronsUpDown, LayoutGrid, Plus, User } from "lucide-react";
import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { useState } from "react";
import { CreateOrgDialog } from "@/components/orgs/create-org-dialog";
import { Button } from "@/components/ui/button";
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuLabel,
  DropdownMenuSeparator,
  DropdownMenuTrigger,
} from "@/components/ui/dropdown-menu";
import { api } from "@/lib/ui/api";
import { currentOrgSlug, switchTarget } from "./org-switch";

export interface SwitcherOrg {
  slug: string;
  name: string;
  role: string;
}

/**
 * The header's organization switcher: "Personal" (the person's own account) and each organization they belong to
 * with their role there, then every organization and "Create organization". What it shows is where the page is.
 */
export function OrgSwitcher({ orgs: initial }: { orgs: SwitcherOrg[] }) {
  const router = useRouter();
  // Read by the layout on the server; kept current in the browser (a creation, an acceptance, a departure
  // invalidates "orgs") without waiting for the layout to render again.
  const { data: orgs = initial } = useQuery({
    queryKey: ["orgs", "mine"],
    queryFn: async () =>
      (await api<{ items: { slug: string; name: string; role: string | null }[] }>("/api/v1/orgs")).items.map(
        (o) => ({ slug: o.slug, name: o.name, role: o.role ?? "admin" }),
      ),
    initialData: initial,
    staleTime: 30_000,
  });
  const pathname = usePathname();
  const search = useSearchParams();
  const [creating, setCreating] = useState(false);
  const slug = currentOrgSlug(pathname, search.get("org"));
  const current = slug ? orgs.find((o) => o.slug === slug) : undefined;
  const label = current?.name ?? (slug ? slug : "Personal");

  const go = (target: string | null) => {
    const href = switchTarget(pathname, target);
    if (href) router.push(href);
  };

  return (
    <>
      <DropdownMenu>
        <DropdownMenuTrigger asChild>
          <Button
            variant="outline"
            className="min-w-0 max-w-40 gap-2 px-2 sm:max-w-56 sm:px-3"
            data-testid="org-switcher"
            title={`Spending as: ${label}`}
          >
            {current || slug ? (
              <Building2 className="shrink-0" aria-hidden />
            ) : (
              <User className="shrink-0" aria-hidden />
            )}
            <span className="hidden min-w-0 truncate sm:inline">{label}</span>
            <span className="sr-only sm:hidden">{label}</span>
            <span className="sr-only">: switch organization</span>
            <ChevronsUpDown className="shrink-0 opacity-60" aria-hidden />
          </Button>
        </DropdownMenuTrigger>
        <DropdownMenuContent align="end" className="w-64">
          <DropdownMenuLabel className="text-xs font-normal text-muted-foreground">
            Spend from
          </DropdownMenuLabel>
          <DropdownMenuItem onSelect={() => go(null)} data-testid="org-switch-personal">
            <User /> <span className="flex-1">Personal</span>
            {slug ? null : <Check aria-label="current" />}
          </DropdownMenuItem>
          {orgs.map((o) => (
            <DropdownMenuItem
              key={o.slug}
              onSelect={() => go(o.slug)}
              data-testid={`org-switch-${o.slug}`}
              title={`${o.name} (${o.role})`}
            >
              <Building2 />
              <span className="grid min-w-0 flex-1">
                <span className="truncate">{o.name}</span>
                <span className="text-xs text-muted-foreground">{o.role}</span>
              </span>
              {o.slug === slug ? <Check aria-label="current" /> : null}
            </DropdownMenuItem>
          ))}
          <DropdownMenuSeparator />
          <DropdownMenuItem onSelect={() => router.push("/orgs")}>
            <LayoutGrid /> All organizations
          </DropdownMenuItem>
          <DropdownMenuItem onSelect={() => setCreating(true)}>
            <Plus /> Create organization
          </DropdownMenuItem>
        </DropdownMenuContent>
      </DropdownMenu>
      <CreateOrgDialog trigger={false} open={creating} onOpenChange={setCreating} />
    </>
  );
}
