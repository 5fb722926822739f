import type { Role } from "@/lib/auth/types";

export interface NavItem {
  href: string;
  label: string;
  icon:
    | "users"
    | "scroll"
    | "user"
    | "key"
    | "boxes"
    | "chat"
    | "wallet"
    | "tags"
    | "scale"
    | "chart"
    | "layers"
    | "ticket"
    | "card"
    | "gauge"
    | "list"
    | "bell"
    | "home"
    | "building"
    | "shield";
}

export interface NavSection {
  title: string;
  roles: Role[];
  items: NavItem[];
}

/** The dashboard's areas; later capabilities add their pages here. */
export const NAV: NavSection[] = [
  {
    title: "Admin",
    roles: ["admin"],
    items: [
      { href: "/admin", label: "Overview", icon: "gauge" },
      { href: "/admin/analytics", label: "Usage analytics", icon: "chart" },
      { href: "/admin/requests", label: "Request log", icon: "list" },
      { href: "/admin/alerts", label: "Alerts", icon: "bell" },
      { href: "/admin/usage", label: "Usage & margins", icon: "scale" },
      { href: "/admin/users", label: "Users", icon: "users" },
      { href: "/admin/orgs", label: "Organizations", icon: "building" },
      { href: "/admin/plans", label: "Plans", icon: "layers" },
      { href: "/admin/keys", label: "API keys", icon: "key" },
      { href: "/admin/models", label: "Models", icon: "boxes" },
      { href: "/admin/model-health", label: "Model health", icon: "gauge" },
      { href: "/admin/accounts", label: "Accounts", icon: "wallet" },
      { href: "/admin/prices", label: "Price book", icon: "tags" },
      { href: "/admin/payments", label: "Payments", icon: "card" },
      { href: "/admin/webhooks", label: "Customer webhooks", icon: "bell" },
      { href: "/admin/codes", label: "Redemption codes", icon: "ticket" },
      { href: "/admin/settlement", label: "Settlement", icon: "scale" },
      { href: "/admin/settings", label: "Operator settings", icon: "building" },
      { href: "/admin/settings/retention", label: "Data retention", icon: "layers" },
      { href: "/admin/audit", label: "Audit log", icon: "scroll" },
    ],
  },
  {
    title: "Playground",
    roles: ["admin", "developer"],
    items: [{ href: "/playground", label: "Chat", icon: "chat" }],
  },
  {
    title: "Account",
    roles: ["admin", "developer"],
    items: [
      { href: "/home", label: "Home", icon: "home" },
      { href: "/account/billing", label: "Balance & usage", icon: "wallet" },
      { href: "/account/statements", label: "Statements", icon: "scroll" },
      { href: "/account/models", label: "Models & prices", icon: "tags" },
      { href: "/account/usage", label: "My usage", icon: "chart" },
      { href: "/account/requests", label: "My calls", icon: "list" },
      { href: "/account/keys", label: "My API keys", icon: "key" },
      { href: "/account/webhooks", label: "Usage webhooks", icon: "bell" },
      { href: "/account/provider-keys", label: "Provider keys", icon: "key" },
      { href: "/account/guardrails", label: "Guardrails & cache", icon: "shield" },
      { href: "/orgs", label: "Organizations", icon: "building" },
      { href: "/account", label: "Profile & sessions", icon: "user" },
    ],
  },
];
