import Link from "@/components/ui/link";
import type { Role } from "@/lib/auth/types";
import { Logo } from "./logo";
import { NavLinks } from "./nav-links";

/**
 * The navigation beside the content from the md breakpoint up, staying in view while the page scrolls (its own
 * scroll when the list is taller than the window); below md, the header's menu opens it in a sheet.
 */
export function Sidebar({ role }: { role: Role }) {
  return (
    <aside className="hidden w-60 shrink-0 border-r bg-sidebar md:block">
      <div className="sticky top-0 flex h-screen flex-col overflow-y-auto">
        <Link href="/" className="flex h-14 shrink-0 items-center border-b px-5">
          <Logo />
        </Link>
        <NavLinks role={role} />
      </div>
    </aside>
  );
}
