"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { MessageSquarePlus, Pencil, Trash2 } from "lucide-react";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import type { Json } from "@/lib/json";
import type { Conversation, ConversationSummary } from "@/lib/playground/conversations";
import { api } from "@/lib/ui/api";
import { cn, utcTime } from "@/lib/utils";
import { orgQuery, usePlaygroundOrg } from "./org-context";
import type { ChatSettings, PlaygroundMessage } from "./settings";

export type SavedConversation = Json<Conversation> & {
  settings: ChatSettings;
  messages: PlaygroundMessage[];
};

/**
 * Saves a conversation after each answer: created on the first one (titled by its first message), then updated; in
 * an organization's playground it is kept there.
 */
export function useSaveConversation() {
  const qc = useQueryClient();
  const org = usePlaygroundOrg();
  return useMutation({
    mutationFn: async (input: {
      id: string | null;
      settings: ChatSettings;
      messages: PlaygroundMessage[];
    }) => {
      if (input.id) {
        return (
          await api<{ conversation: SavedConversation }>(
            `/api/v1/playground/conversations/${input.id}${orgQuery(org)}`,
            {
              method: "PATCH",
              body: { settings: input.settings, messages: input.messages },
            },
          )
        ).conversation;
      }
      const first = input.messages.find((m) => m.role === "user");
      const text = first?.parts.map((p) => (p.type === "text" ? p.text : "")).join("") ?? "";
      const title = text.trim().replace(/\s+/g, " ").slice(0, 60) || "New chat";
      return (
        await api<{ conversation: SavedConversation }>(`/api/v1/playground/conversations${orgQuery(org)}`, {
          body: { title, settings: input.settings, messages: input.messages },
        })
      ).conversation;
    },
    onSuccess: () => qc.invalidateQueries({ queryKey: ["conversations"] }),
  });
}

/** The developer's saved conversations of this playground (theirs, or the organization's): search, open, rename, delete. */
export function ConversationList({
  current,
  onOpen,
  onNew,
}: {
  current: string | null;
  onOpen: (c: SavedConversation) => void;
  onNew: () => void;
}) {
  const qc = useQueryClient();
  const org = usePlaygroundOrg();
  const [q, setQ] = useState("");
  const [renaming, setRenaming] = useState<{ id: string; title: string } | null>(null);
  const list = useQuery({
    queryKey: ["conversations", org?.slug ?? null, q],
    queryFn: () =>
      api<{ items: Json<ConversationSummary>[] }>(
        `/api/v1/playground/conversations?${new URLSearchParams({ ...(q ? { q } : {}), ...(org ? { org: org.slug } : {}) })}`,
      ),
  });
  const open = useMutation({
    mutationFn: (id: string) =>
      api<{ conversation: SavedConversation }>(`/api/v1/playground/conversations/${id}${orgQuery(org)}`),
    onSuccess: ({ conversation }) => onOpen(conversation),
  });
  const rename = useMutation({
    mutationFn: ({ id, title }: { id: string; title: string }) =>
      api(`/api/v1/playground/conversations/${id}${orgQuery(org)}`, { method: "PATCH", body: { title } }),
    onSuccess: () => {
      setRenaming(null);
      qc.invalidateQueries({ queryKey: ["conversations"] });
    },
  });
  const remove = useMutation({
    mutationFn: (id: string) =>
      api(`/api/v1/playground/conversations/${id}${orgQuery(org)}`, { method: "DELETE" }),
    onSuccess: (_, id) => {
      if (id === current) onNew();
      qc.invalidateQueries({ queryKey: ["conversations"] });
    },
  });
  return (
    <Card>
      <CardHeader className="flex flex-row items-center justify-between gap-2">
        <CardTitle className="text-base">Conversations</CardTitle>
        <Button size="sm" variant="outline" onClick={onNew}>
          <MessageSquarePlus /> New
        </Button>
      </CardHeader>
      <CardContent className="grid gap-2">
        <Input
          aria-label="Search conversations"
          placeholder="Search…"
          value={q}
          onChange={(e) => setQ(e.target.value)}
        />
        <ul className="grid max-h-72 gap-1 overflow-y-auto" data-testid="conversation-list">
          {list.data?.items.length === 0 ? (
            <li className="py-2 text-xs text-muted-foreground">
              {q
                ? "Nothing matches."
                : org
                  ? `Your chats in ${org.name} are saved here after the first answer, apart from your own.`
                  : "Your chats are saved here after the first answer."}
            </li>
          ) : null}
          {list.data?.items.map((c) => (
            <li
              key={c.id}
              className={cn(
                "group flex min-w-0 items-center gap-1 rounded-md px-2 py-1 text-sm hover:bg-muted",
                c.id === current && "bg-muted",
              )}
            >
              {renaming?.id === c.id ? (
                <form
                  className="flex flex-1 gap-1"
                  onSubmit={(e) => {
                    e.preventDefault();
                    if (renaming.title.trim()) rename.mutate(renaming);
                  }}
                >
                  <Input
                    aria-label="New title"
                    className="h-7"
                    autoFocus
                    value={renaming.title}
                    onChange={(e) => setRenaming({ id: c.id, title: e.target.value })}
                    onKeyDown={(e) => e.key === "Escape" && setRenaming(null)}
                  />
                </form>
              ) : (
                <button
                  type="button"
                  className="min-w-0 flex-1 text-left"
                  onClick={() => open.mutate(c.id)}
                  title={`Updated ${utcTime(String(c.updatedAt))} UTC`}
                >
                  <span className="block truncate" data-testid="conversation-title">
                    {c.title}
                  </span>
                  <span className="block text-xs text-muted-foreground">{c.turns} messages</span>
                </button>
              )}
              <Button
                type="button"
                variant="ghost"
                size="icon"
                className="size-6"
                aria-label={`Rename ${c.title}`}
                onClick={() => setRenaming({ id: c.id, title: c.title })}
              >
                <Pencil className="size-3.5" />
              </Button>
              <Button
                type="button"
                variant="ghost"
                size="icon"
                className="size-6"
                aria-label={`Delete ${c.title}`}
                onClick={() => remove.mutate(c.id)}
              >
                <Trash2 className="size-3.5" />
              </Button>
            </li>
          ))}
        </ul>
      </CardContent>
    </Card>
  );
}
