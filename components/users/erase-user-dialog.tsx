"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
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
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { toast } from "@/components/ui/sonner";
import type { ErasureResult } from "@/lib/gdpr/schemas";
import type { Json } from "@/lib/json";
import { api } from "@/lib/ui/api";

/** Erase… on a user's row: the admin types the user's email to confirm; the server checks it again. */
export function EraseUserDialog({ user }: { user: { id: string; email: string } }) {
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
      <Button
        size="sm"
        variant="outline"
        className="text-destructive"
        aria-label={`Erase ${user.email}`}
        onClick={() => {
          setTyped("");
          setOpen(true);
        }}
      >
        Erase…
      </Button>
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
