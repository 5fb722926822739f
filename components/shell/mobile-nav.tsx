"use client";

import { Menu } from "lucide-react";
import { usePathname } from "next/navigation";
import { useEffect, useState } from "react";
import { Button } from "@/components/ui/button";
import Link from "@/components/ui/link";
import {
  Sheet,
  SheetContent,
  SheetDescription,
  SheetHeader,
  SheetTitle,
  SheetTrigger,
} from "@/components/ui/sheet";
import type { Role } from "@/lib/auth/types";
import { Logo } from "./logo";
import { NavLinks } from "./nav-links";

/** Below the md breakpoint: a menu button in the header opening the navigation in a sheet from the left. */
export function MobileNav({ role }: { role: Role }) {
  const [open, setOpen] = useState(false);
  const pathname = usePathname();
  // Any navigation closes the sheet (a link inside it, the palette, the back button).
  // biome-ignore lint/correctness/useExhaustiveDependencies: the path changing is the event
  useEffect(() => setOpen(false), [pathname]);
  return (
    <Sheet open={open} onOpenChange={setOpen}>
      <SheetTrigger asChild>
        <Button variant="ghost" size="icon" className="md:hidden" aria-label="Open navigation">
          <Menu className="size-5" />
        </Button>
      </SheetTrigger>
      <SheetContent side="left" className="gap-0 bg-sidebar p-0">
        <SheetHeader className="h-14 shrink-0 justify-center border-b px-5 py-0">
          <SheetTitle asChild>
            <Link href="/" onClick={() => setOpen(false)}>
              <Logo />
            </Link>
          </SheetTitle>
          <SheetDescription className="sr-only">Pages of the dashboard</SheetDescription>
        </SheetHeader>
        <NavLinks role={role} onNavigate={() => setOpen(false)} />
      </SheetContent>
    </Sheet>
  );
}
