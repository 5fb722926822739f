// Where the header's organization switcher is and leads (components/shell/org-switcher.tsx), as plain functions of
// the path: the organization a page is in is in its address, /orgs/<slug>/… or ?org=<slug>.

/** The developer pages that follow the switcher: the same page for the organization, named in the URL (?org=). */
export const ORG_FOLLOWING_PAGES = ["/playground", "/account/keys", "/account/usage", "/account/requests"];

const follows = (pathname: string) => ORG_FOLLOWING_PAGES.includes(pathname);

/** The organization a path is in: ?org= on a page that follows the switcher, or an /orgs/<slug> page; else null. */
export function currentOrgSlug(pathname: string, org: string | null): string | null {
  if (follows(pathname)) return org ? org.toLowerCase() : null;
  const match = /^\/orgs\/([^/]+)/.exec(pathname);
  return match ? decodeURIComponent(match[1]!) : null;
}

/** A person's page and its organization counterpart (a tab of /orgs/<slug>), for switching between them. */
const COUNTERPARTS: [personal: string, tab: string][] = [
  ["/account/billing", "/billing"],
  ["/account/statements", "/statements"],
  ["/home", ""],
];

/**
 * Where choosing an organization (null: the person's own account) leads from the page one is on: a page that
 * follows the switcher stays the same page for it; an organization's page becomes the same tab of the other one;
 * the balance page and home become the organization's billing and overview, and back; any other page opens the
 * organization's overview (Personal leaves one where one is: null).
 */
export function switchTarget(pathname: string, slug: string | null): string | null {
  if (follows(pathname)) return slug ? `${pathname}?org=${encodeURIComponent(slug)}` : pathname;
  const tab = /^\/orgs\/[^/]+(\/[^/?#]*)?/.exec(pathname);
  if (slug) {
    const counterpart = COUNTERPARTS.find(([personal]) => personal === pathname)?.[1];
    return `/orgs/${encodeURIComponent(slug)}${tab?.[1] ?? counterpart ?? ""}`;
  }
  if (!tab) return null;
  return COUNTERPARTS.find(([, orgTab]) => orgTab === (tab[1] ?? ""))?.[0] ?? "/home";
}
