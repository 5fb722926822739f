import Link from "next/link";
import type { Role } from "@/lib/auth/types";
import { Logo } from "./logo";
import { NavLinks } from "./nav-links";

/** The navigation beside the content from the md breakpoint up; below it, the header's menu opens it in a sheet. */
export function Sidebar({ role }: { role: Role }) {
  return (
    <aside className="sticky top-0 hidden h-screen w-60 shrink-0 flex-col overflow-y-auto border-r bg-sidebar md:flex">
      <Link href="/" className="flex h-14 shrink-0 items-center border-b px-5">
        <Logo />
      </Link>
      <NavLinks role={role} />
    </aside>
  );
}
