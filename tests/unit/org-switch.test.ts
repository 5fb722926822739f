// The header's organization switcher: which organization a page is in, and where choosing one leads.
import { describe, expect, it } from "vitest";
import { currentOrgSlug, ORG_FOLLOWING_PAGES, switchTarget } from "@/components/shell/org-switch";

describe("the organization switcher", () => {
  it("reads the organization from ?org= on the pages that follow it, and from /orgs/<slug> pages", () => {
    expect(currentOrgSlug("/account/keys", "Acme")).toBe("acme");
    expect(currentOrgSlug("/playground", null)).toBeNull();
    expect(currentOrgSlug("/orgs/acme/members", null)).toBe("acme");
    expect(currentOrgSlug("/orgs/acme", null)).toBe("acme");
    // A page that does not follow the switcher ignores a stray ?org=.
    expect(currentOrgSlug("/home", "acme")).toBeNull();
    expect(currentOrgSlug("/orgs", null)).toBeNull();
  });

  it("keeps the developer pages the same page for the chosen organization, with ?org= in the address", () => {
    for (const page of ORG_FOLLOWING_PAGES) {
      expect(switchTarget(page, "acme")).toBe(`${page}?org=acme`);
      expect(switchTarget(page, null)).toBe(page);
    }
  });

  it("moves between organizations' pages tab for tab, and opens the overview from anywhere else", () => {
    expect(switchTarget("/orgs/acme/members", "globex")).toBe("/orgs/globex/members");
    expect(switchTarget("/orgs/acme", "globex")).toBe("/orgs/globex");
    expect(switchTarget("/home", "globex")).toBe("/orgs/globex");
    expect(switchTarget("/orgs", "globex")).toBe("/orgs/globex");
    // The balance page and home have their organization counterparts, both ways.
    expect(switchTarget("/account/billing", "globex")).toBe("/orgs/globex/billing");
    expect(switchTarget("/orgs/acme/billing", null)).toBe("/account/billing");
    expect(switchTarget("/orgs/acme", null)).toBe("/home");
    // Personal from another organization page goes home; from a page of one's own it stays.
    expect(switchTarget("/orgs/acme/members", null)).toBe("/home");
    expect(switchTarget("/account/models", null)).toBeNull();
  });
});
