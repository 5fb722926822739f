"use client";

import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { defaultFilter } from "cmdk";
import { KeyRound, List, Search, UserRound } from "lucide-react";
import { useRouter } from "next/navigation";
import { useEffect, useMemo, useState } from "react";
import { Button } from "@/components/ui/button";
import {
  CommandDialog,
  CommandEmpty,
  CommandGroup,
  CommandInput,
  CommandItem,
  CommandList,
} from "@/components/ui/command";
import type { Role } from "@/lib/auth/types";
import type { Json } from "@/lib/json";
import { SEARCH_MAX, SEARCH_MIN, type SearchResults } from "@/lib/search/schemas";
import { api } from "@/lib/ui/api";
import { utcTime } from "@/lib/utils";
import { ICONS } from "./nav-links";
import { navFor } from "./nav-match";

type Results = Json<SearchResults>;

/** Where each kind of result opens, for the role that found it. */
export function resultHref(role: Role) {
  const admin = role === "admin";
  return {
    user: (u: Results["users"][number]) => (u.accountId ? `/admin/accounts/${u.accountId}` : "/admin/users"),
    key: (k: Results["keys"][number]) => `${admin ? "/admin/keys" : "/account/keys"}?keyId=${k.id}`,
    call: (c: Results["calls"][number]) =>
      `${admin ? "/admin/requests" : "/account/requests"}?callId=${encodeURIComponent(c.callId)}`,
  };
}

/** Waits until typing pauses, so a search runs once per word rather than per key. */
function useDebounced(value: string, ms: number) {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

/**
 * The command palette (Ctrl/⌘-K, or the header's "Search…"): the role's pages, and live search for users
 * (admins), API keys and calls by call id, as the person may see them.
 */
export function CommandPalette({ role }: { role: Role }) {
  const router = useRouter();
  const [open, setOpen] = useState(false);
  const [text, setText] = useState("");
  const q = useDebounced(text.trim(), 150);
  const searching = q.length >= SEARCH_MIN;

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key.toLowerCase() === "k" && (event.metaKey || event.ctrlKey) && !event.altKey) {
        event.preventDefault();
        setOpen((was) => !was);
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);

  const { data, isFetching, error } = useQuery({
    queryKey: ["search", q],
    queryFn: () => api<Results>(`/api/v1/search?q=${encodeURIComponent(q)}`),
    enabled: open && searching,
    placeholderData: keepPreviousData,
    staleTime: 10_000,
  });
  const results = searching ? data : undefined;

  const pages = useMemo(
    () =>
      navFor(role).flatMap((section) => section.items.map((item) => ({ ...item, section: section.title }))),
    [role],
  );
  const shownPages = text.trim()
    ? pages.filter((p) => defaultFilter(`${p.label} ${p.section}`, text.trim()) > 0)
    : pages;
  const href = resultHref(role);

  const go = (to: string) => {
    setOpen(false);
    setText("");
    router.push(to);
  };

  // The highlighted row: the first one whenever the list changes (cmdk keeps a stale choice once search results
  // replace the pages it had picked), so Enter opens the best match.
  const first =
    (shownPages[0] && `page:${shownPages[0].href}`) ||
    (results?.users[0] && `user:${results.users[0].id}`) ||
    (results?.keys[0] && `key:${results.keys[0].id}`) ||
    (results?.calls[0] && `call:${results.calls[0].id}`) ||
    "";
  const [selected, setSelected] = useState(first);
  useEffect(() => setSelected(first), [first]);

  const pending = searching && (isFetching || q !== text.trim());
  const nothing =
    shownPages.length === 0 &&
    !(results && results.users.length + results.keys.length + results.calls.length > 0);

  return (
    <>
      <Button
        variant="outline"
        size="sm"
        className="h-9 w-9 justify-start px-0 text-muted-foreground max-sm:justify-center sm:w-56 sm:px-3"
        onClick={() => setOpen(true)}
        aria-keyshortcuts="Control+K Meta+K"
      >
        <Search />
        {/* The name is the visible text ("Search… Ctrl K"); on a phone, where only the icon shows, "Search". */}
        <span className="hidden sm:inline">Search…</span>
        <span className="sr-only sm:hidden">Search</span>
        <kbd className="pointer-events-none ml-auto hidden rounded border bg-muted px-1.5 font-mono text-[10px] sm:inline">
          Ctrl K
        </kbd>
      </Button>
      <CommandDialog
        open={open}
        onOpenChange={(next) => {
          setOpen(next);
          if (!next) setText("");
        }}
        title="Search"
        description={
          role === "admin"
            ? "Pages, users, API keys and calls by call id."
            : "Pages, your API keys and your calls by call id."
        }
        commandProps={{
          shouldFilter: false,
          loop: true,
          label: "Search",
          value: selected,
          onValueChange: setSelected,
        }}
      >
        <CommandInput
          value={text}
          onValueChange={setText}
          maxLength={SEARCH_MAX}
          placeholder={role === "admin" ? "Pages, users, keys, call ids…" : "Pages, your keys, call ids…"}
        />
        <CommandList>
          {error ? (
            <div className="px-3 py-2 text-sm text-destructive">
              Search failed: {(error as Error).message}
            </div>
          ) : null}
          {nothing && !pending ? <CommandEmpty>Nothing matches “{text.trim()}”.</CommandEmpty> : null}
          {shownPages.length > 0 ? (
            <CommandGroup heading="Pages">
              {shownPages.map((page) => {
                const Icon = ICONS[page.icon];
                return (
                  <CommandItem key={page.href} value={`page:${page.href}`} onSelect={() => go(page.href)}>
                    <Icon />
                    <span className="truncate">{page.label}</span>
                    <span className="ml-auto text-xs text-muted-foreground">{page.section}</span>
                  </CommandItem>
                );
              })}
            </CommandGroup>
          ) : null}
          {results && results.users.length > 0 ? (
            <CommandGroup heading="Users">
              {results.users.map((u) => (
                <CommandItem key={u.id} value={`user:${u.id}`} onSelect={() => go(href.user(u))}>
                  <UserRound />
                  <span className="min-w-0 truncate">{u.email}</span>
                  <span className="ml-auto shrink-0 text-xs text-muted-foreground">
                    {u.name ? `${u.name} · ` : ""}
                    {u.role}
                    {u.status === "active" ? "" : ` · ${u.status}`}
                  </span>
                </CommandItem>
              ))}
            </CommandGroup>
          ) : null}
          {results && results.keys.length > 0 ? (
            <CommandGroup heading="API keys">
              {results.keys.map((k) => (
                <CommandItem key={k.id} value={`key:${k.id}`} onSelect={() => go(href.key(k))}>
                  <KeyRound />
                  <span className="min-w-0 truncate">{k.name}</span>
                  <span className="shrink-0 font-mono text-xs text-muted-foreground">{k.prefix}…</span>
                  <span className="ml-auto min-w-0 truncate text-xs text-muted-foreground">
                    {role === "admin" ? k.userEmail : ""}
                    {k.status === "active" ? "" : ` ${k.status}`}
                  </span>
                </CommandItem>
              ))}
            </CommandGroup>
          ) : null}
          {results && results.calls.length > 0 ? (
            <CommandGroup heading="Calls">
              {results.calls.map((c) => (
                <CommandItem key={c.id} value={`call:${c.id}`} onSelect={() => go(href.call(c))}>
                  <List />
                  <span className="min-w-0 truncate font-mono text-xs" data-testid="palette-call-id">
                    {c.callId}
                  </span>
                  <span className="ml-auto shrink-0 text-xs text-muted-foreground">
                    {c.model} · {utcTime(c.startedAt).slice(0, 16)}
                  </span>
                </CommandItem>
              ))}
            </CommandGroup>
          ) : null}
          {pending ? <div className="px-3 py-2 text-xs text-muted-foreground">Searching…</div> : null}
        </CommandList>
      </CommandDialog>
    </>
  );
}
