"use client";

import { useQuery } from "@tanstack/react-query";
import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { useMemo } from "react";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import {
  BILLING_STATUSES,
  CALL_KINDS,
  CALL_STATUSES,
  FILTER_KEYS,
  FLAGGED_SAFETY_SCORE,
  LOG_FILTER_KEYS,
} from "@/lib/analytics/schemas";
import { api } from "@/lib/ui/api";

export type FilterKey = (typeof FILTER_KEYS)[number] | (typeof LOG_FILTER_KEYS)[number];
export type Filters = Partial<Record<FilterKey, string>>;

/** The filters in the URL (the one source of truth: a view can be shared by its address). */
export function useUrlFilters(extra: readonly string[] = []) {
  const search = useSearchParams();
  const router = useRouter();
  const pathname = usePathname();
  const filters = useMemo(() => {
    const out: Record<string, string> = {};
    for (const key of [...FILTER_KEYS, ...extra]) {
      const value = search.get(key);
      if (value) out[key] = value;
    }
    return out;
  }, [search, extra]);
  const query = new URLSearchParams(filters).toString();
  const set = (patch: Record<string, string | undefined>) => {
    const next = new URLSearchParams(filters);
    for (const [key, value] of Object.entries(patch)) {
      if (value) next.set(key, value);
      else next.delete(key);
    }
    const text = next.toString();
    router.replace(text ? `${pathname}?${text}` : pathname, { scroll: false });
  };
  return { filters: filters as Filters & Record<string, string>, query, set };
}

const PRESETS = [
  { label: "24 h", days: 1 },
  { label: "7 days", days: 7 },
  { label: "30 days", days: 30 },
  { label: "90 days", days: 90 },
] as const;

const utcDay = (d: Date) => d.toISOString().slice(0, 10);

interface Options {
  models: string[];
  errors: string[];
  keys: { id: string; name: string; prefix: string; email: string }[];
  users: { id: string; email: string }[];
}

function Picker({
  id,
  label,
  value,
  onChange,
  options,
  all = "All",
}: {
  id: string;
  label: string;
  value: string | undefined;
  onChange: (value: string | undefined) => void;
  options: { value: string; label: string }[];
  all?: string;
}) {
  return (
    <div className="grid min-w-0 gap-1">
      <Label htmlFor={id} className="text-xs text-muted-foreground">
        {label}
      </Label>
      <select
        id={id}
        className="h-9 w-full min-w-0 rounded-md border border-input bg-background px-2 text-sm"
        value={value ?? ""}
        onChange={(e) => onChange(e.target.value || undefined)}
      >
        <option value="">{all}</option>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </div>
  );
}

/** Time range (UTC days), user, key, model, call kind, outcome, billing status, error: every filter in the URL. */
export function FilterBar({
  filters,
  set,
  base = "/api/v1",
  admin = true,
  log = false,
}: {
  filters: Filters;
  set: (patch: Filters) => void;
  /** /api/v1 for the admin's whole platform, /api/v1/me for a developer's own calls. */
  base?: string;
  admin?: boolean;
  /** The request log's own filters besides the shared ones: cache hits and safety score. */
  log?: boolean;
}) {
  const range = new URLSearchParams();
  if (filters.from) range.set("from", filters.from);
  if (filters.to) range.set("to", filters.to);
  // The organization the page is in (the header's switcher) is a context, not a filter to clear.
  if (filters.org) range.set("org", filters.org);
  const { data: options } = useQuery({
    queryKey: ["analytics-options", base, range.toString()],
    queryFn: () => api<Options>(`${base}/analytics/options?${range.toString()}`),
    staleTime: 60_000,
  });
  const preset = (days: number) => {
    const now = new Date();
    if (days === 1)
      set({ from: `${new Date(now.getTime() - 86_400_000).toISOString().slice(0, 19)}Z`, to: undefined });
    else set({ from: utcDay(new Date(now.getTime() - (days - 1) * 86_400_000)), to: undefined });
  };
  const keys: FilterKey[] = [...FILTER_KEYS.filter((k) => k !== "org"), ...(log ? LOG_FILTER_KEYS : [])];
  const active = keys.some((k) => filters[k]);
  return (
    <div className="grid min-w-0 grid-cols-1 gap-3 rounded-lg border bg-card p-4" data-testid="filter-bar">
      <div className="flex flex-wrap items-end gap-2">
        <div className="grid gap-1">
          <span className="text-xs text-muted-foreground">Range (UTC)</span>
          <div className="flex flex-wrap gap-1">
            {PRESETS.map((p) => (
              <Button key={p.label} type="button" variant="outline" size="sm" onClick={() => preset(p.days)}>
                {p.label}
              </Button>
            ))}
          </div>
        </div>
        <div className="grid gap-1">
          <Label htmlFor="filter-from" className="text-xs text-muted-foreground">
            From (UTC day)
          </Label>
          <Input
            id="filter-from"
            type="date"
            className="h-9 w-40"
            value={filters.from?.slice(0, 10) ?? ""}
            onChange={(e) => set({ from: e.target.value || undefined })}
          />
        </div>
        <div className="grid gap-1">
          <Label htmlFor="filter-to" className="text-xs text-muted-foreground">
            To (UTC day, inclusive)
          </Label>
          <Input
            id="filter-to"
            type="date"
            className="h-9 w-40"
            value={filters.to?.slice(0, 10) ?? ""}
            onChange={(e) => set({ to: e.target.value || undefined })}
          />
        </div>
        {active ? (
          <Button
            type="button"
            variant="ghost"
            size="sm"
            onClick={() => set(Object.fromEntries(keys.map((k) => [k, undefined])))}
          >
            Clear filters
          </Button>
        ) : null}
      </div>
      <div className="grid grid-cols-2 gap-2 md:grid-cols-4 xl:grid-cols-7">
        {admin ? (
          <Picker
            id="filter-user"
            label="User"
            value={filters.userId}
            onChange={(v) => set({ userId: v })}
            options={(options?.users ?? []).map((u) => ({ value: u.id, label: u.email }))}
          />
        ) : null}
        <Picker
          id="filter-key"
          label="Key"
          value={filters.keyId}
          onChange={(v) => set({ keyId: v })}
          options={(options?.keys ?? []).map((k) => ({
            value: k.id,
            label: `${k.name} (${k.prefix}) · ${k.email}`,
          }))}
        />
        <Picker
          id="filter-model"
          label="Model"
          value={filters.model}
          onChange={(v) => set({ model: v })}
          options={(options?.models ?? []).map((m) => ({ value: m, label: m }))}
        />
        <Picker
          id="filter-kind"
          label="Call kind"
          value={filters.kind}
          onChange={(v) => set({ kind: v })}
          options={CALL_KINDS.map((k) => ({ value: k, label: k }))}
        />
        <Picker
          id="filter-status"
          label="Outcome"
          value={filters.status}
          onChange={(v) => set({ status: v })}
          options={CALL_STATUSES.map((k) => ({ value: k, label: k }))}
        />
        <Picker
          id="filter-billing"
          label="Billing"
          value={filters.billing}
          onChange={(v) => set({ billing: v })}
          options={BILLING_STATUSES.map((k) => ({ value: k, label: k }))}
        />
        <Picker
          id="filter-error"
          label="Error"
          value={filters.error}
          onChange={(v) => set({ error: v })}
          options={[
            { value: "any", label: "any error" },
            ...(options?.errors ?? []).map((e) => ({ value: e, label: e })),
          ]}
        />
        {log ? (
          <>
            <Picker
              id="filter-cache"
              label="Response cache"
              value={filters.cacheHit}
              onChange={(v) => set({ cacheHit: v })}
              options={[
                { value: "true", label: "cache hits" },
                { value: "false", label: "not from the cache" },
              ]}
            />
            <Picker
              id="filter-credential"
              label="Provider key"
              value={filters.credential}
              onChange={(v) => set({ credential: v })}
              options={[
                { value: "platform", label: "Tollgate's keys" },
                { value: "byok", label: "own keys (BYOK)" },
              ]}
            />
            <Picker
              id="filter-safety"
              label="Safety score"
              value={filters.minSafetyScore}
              onChange={(v) => set({ minSafetyScore: v })}
              all="Any"
              options={[
                { value: String(FLAGGED_SAFETY_SCORE), label: `flagged (≥ ${FLAGGED_SAFETY_SCORE})` },
                { value: "25", label: "≥ 25" },
                { value: "75", label: "≥ 75" },
                { value: "1", label: "any signal (≥ 1)" },
              ]}
            />
          </>
        ) : null}
      </div>
    </div>
  );
}
