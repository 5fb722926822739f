"use client";

import { createContext, useContext } from "react";

/** The organization the playground is in (the header's switcher, ?org=); null: the person's own account. */
export const PlaygroundOrg = createContext<{ slug: string; name: string } | null>(null);

export const usePlaygroundOrg = () => useContext(PlaygroundOrg);

/** `?org=<slug>` for the playground's API calls in an organization; "" in one's own. */
export const orgQuery = (org: { slug: string } | null): string =>
  org ? `?org=${encodeURIComponent(org.slug)}` : "";
