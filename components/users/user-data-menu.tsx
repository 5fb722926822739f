"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Download, MoreHorizontal, UserX } from "lucide-react";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import {
  Dialog,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
} from "@/components/ui/dialog";
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuTrigger,
} from "@/components/ui/dropdown-menu";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { toast } from "@/components/ui/sonner";
import type { ErasureResult } from "@/lib/gdpr/schemas";
import type { Json } from "@/lib/json";
import { api } from "@/lib/ui/api";

/**
 * A user's data on their row (GDPR): Export (a JSON download) and, for a developer not yet erased, Erase…, where the
 * admin types the user's email to confirm (the server checks it again).
 */
export function UserDataMenu({ user, erasable }: { user: { id: string; email: string }; erasable: boolean }) {
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState("");
  const qc = useQueryClient();
  const erase = useMutation({
    mutationFn: () =>
      api<{ erasure: Json<ErasureResult> }>(`/api/v1/users/${user.id}/erase`, {
        body: { confirmEmail: typed },
      }),
    onSuccess: ({ erasure }) => {
      toast.success(`${user.email} erased: now ${erasure.pseudonym}`);
      setOpen(false);
      qc.invalidateQueries({ queryKey: ["users"] });
    },
    onError: (e) => toast.error(e.message),
  });
  const matches = typed.trim().toLowerCase() === user.email;
  return (
    <>
      <DropdownMenu>
        <DropdownMenuTrigger asChild>
          <Button size="icon" variant="ghost" className="size-8" aria-label={`Data of ${user.email}`}>
            <MoreHorizontal />
          </Button>
        </DropdownMenuTrigger>
        <DropdownMenuContent align="end">
          <DropdownMenuItem asChild>
            <a href={`/api/v1/users/${user.id}/export`} download>
              <Download /> Export data
            </a>
          </DropdownMenuItem>
          {erasable ? (
            <DropdownMenuItem
              variant="destructive"
              onSelect={() => {
                setTyped("");
                setOpen(true);
              }}
            >
              <UserX /> Erase…
            </DropdownMenuItem>
          ) : null}
        </DropdownMenuContent>
      </DropdownMenu>
      <Dialog open={open} onOpenChange={setOpen}>
        <DialogContent>
          <DialogHeader>
            <DialogTitle>Erase {user.email}?</DialogTitle>
            <DialogDescription>
              Their email, name, password, sessions, conversations and invitations go, their keys are revoked
              and the audit entries about them are pseudonymized. Their calls, payments and ledger stay, with
              their balance, under an anonymous name. This cannot be undone.
            </DialogDescription>
          </DialogHeader>
          <form
            className="grid gap-2"
            onSubmit={(e) => {
              e.preventDefault();
              if (matches) erase.mutate();
            }}
          >
            <Label htmlFor={`erase-${user.id}`}>Type {user.email} to confirm</Label>
            <Input
              id={`erase-${user.id}`}
              autoComplete="off"
              value={typed}
              onChange={(e) => setTyped(e.target.value)}
            />
            <DialogFooter className="mt-2">
              <Button type="button" variant="outline" onClick={() => setOpen(false)}>
                Cancel
              </Button>
              <Button type="submit" variant="destructive" disabled={!matches || erase.isPending}>
                Erase user
              </Button>
            </DialogFooter>
          </form>
        </DialogContent>
      </Dialog>
    </>
  );
}
