"use client";

import {
  Bell,
  Boxes,
  ChartColumn,
  CreditCard,
  Gauge,
  KeyRound,
  Layers,
  List,
  MessageSquare,
  Scale,
  ScrollText,
  Tags,
  Ticket,
  User,
  Users,
  Wallet,
} from "lucide-react";
import Link from "next/link";
import { usePathname } from "next/navigation";
import type { Role } from "@/lib/auth/types";
import { cn } from "@/lib/utils";
import { Logo } from "./logo";
import { NAV } from "./nav";

const ICONS = {
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
};

export function Sidebar({ role }: { role: Role }) {
  const pathname = usePathname();
  return (
    <aside className="hidden w-60 shrink-0 flex-col border-r bg-sidebar md:flex">
      <Link href="/" className="flex h-14 items-center border-b px-5">
        <Logo />
      </Link>
      <nav className="flex flex-1 flex-col gap-6 p-3" aria-label="Main">
        {NAV.filter((s) => s.roles.includes(role)).map((section) => (
          <div key={section.title} className="grid gap-1">
            <div className="px-2 pb-1 text-xs font-medium tracking-wide text-muted-foreground uppercase">
              {section.title}
            </div>
            {section.items.map((item) => {
              const Icon = ICONS[item.icon];
              // The longest matching href wins, so /account does not light up on /account/keys.
              const matches = (href: string) => pathname === href || pathname.startsWith(`${href}/`);
              const best = section.items
                .filter((i) => matches(i.href))
                .sort((a, b) => b.href.length - a.href.length)[0];
              const active = best?.href === item.href;
              return (
                <Link
                  key={item.href}
                  href={item.href}
                  aria-current={active ? "page" : undefined}
                  className={cn(
                    "flex items-center gap-2 rounded-md px-2 py-1.5 text-sm transition-colors hover:bg-accent",
                    active && "bg-accent font-medium text-accent-foreground",
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
    </aside>
  );
}
