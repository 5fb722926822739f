import type { Role } from "@/lib/auth/types";
import { NAV, type NavItem, type NavSection } from "./nav";

// Where a path sits in the navigation, read from NAV so the sidebar, the mobile sheet, the palette and the
// breadcrumbs agree without a second list of pages.

/** The sections a role sees (every section without one). */
export function navFor(role?: Role): NavSection[] {
  return role ? NAV.filter((section) => section.roles.includes(role)) : NAV;
}

const matches = (pathname: string, href: string) => pathname === href || pathname.startsWith(`${href}/`);

/** The nav item a path belongs to: the longest matching href wins, so /account does not light up on /account/keys. */
export function activeItem(pathname: string, role?: Role): { section: NavSection; item: NavItem } | null {
  let best: { section: NavSection; item: NavItem } | null = null;
  for (const section of navFor(role)) {
    for (const item of section.items) {
      if (matches(pathname, item.href) && (!best || item.href.length > best.item.href.length))
        best = { section, item };
    }
  }
  return best;
}

export interface Crumb {
  label: string;
  href?: string;
}

/**
 * The trail of a page deeper than a nav item (e.g. /admin/accounts/<id>): the section's item it belongs to, then
 * the page itself. A page that is a nav item has none: the sidebar already says where one is.
 */
export function crumbsFor(pathname: string, title: string): Crumb[] {
  const path = pathname.replace(/\/+$/, "") || "/";
  const owner = activeItem(path);
  if (!owner || owner.item.href === path) return [];
  return [
    { label: owner.section.title },
    { label: owner.item.label, href: owner.item.href },
    { label: title },
  ];
}
