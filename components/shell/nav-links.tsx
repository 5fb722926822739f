"use client";

import {
  Bell,
  Boxes,
  Building2,
  ChartColumn,
  CreditCard,
  Gauge,
  Home,
  KeyRound,
  Layers,
  List,
  MessageSquare,
  Scale,
  ScrollText,
  ShieldCheck,
  Tags,
  Ticket,
  User,
  Users,
  Wallet,
} from "lucide-react";
import { usePathname } from "next/navigation";
import Link from "@/components/ui/link";
import type { Role } from "@/lib/auth/types";
import { cn } from "@/lib/utils";
import type { NavItem } from "./nav";
import { activeItem, navFor } from "./nav-match";

export const ICONS: Record<NavItem["icon"], React.ComponentType<{ className?: string }>> = {
  users: Users,
  scroll: ScrollText,
  user: User,
  key: KeyRound,
  boxes: Boxes,
  chat: MessageSquare,
  wallet: Wallet,
  tags: Tags,
  scale: Scale,
  layers: Layers,
  ticket: Ticket,
  card: CreditCard,
  chart: ChartColumn,
  gauge: Gauge,
  list: List,
  bell: Bell,
  home: Home,
  building: Building2,
  shield: ShieldCheck,
};

/** The role's sections and pages, the current one marked; shared by the sidebar and the mobile sheet. */
export function NavLinks({ role, onNavigate }: { role: Role; onNavigate?: () => void }) {
  const pathname = usePathname();
  const active = activeItem(pathname, role)?.item.href;
  return (
    <nav className="flex flex-col gap-6 p-3" aria-label="Main">
      {navFor(role).map((section) => (
        <div key={section.title} className="grid gap-1">
          <div className="px-2 pb-1 text-xs font-medium tracking-wide text-muted-foreground uppercase">
            {section.title}
          </div>
          {section.items.map((item) => {
            const Icon = ICONS[item.icon];
            const current = active === item.href;
            return (
              <Link
                key={item.href}
                href={item.href}
                onClick={onNavigate}
                aria-current={current ? "page" : undefined}
                className={cn(
                  "flex items-center gap-2 rounded-md px-2 py-1.5 text-sm transition-colors hover:bg-accent",
                  current && "bg-accent font-medium text-accent-foreground",
                )}
              >
                <Icon className="size-4" />
                {item.label}
              </Link>
            );
          })}
        </div>
      ))}
    </nav>
  );
}
