"use client";

import { TriangleAlert } from "lucide-react";
import { Button } from "@/components/ui/button";
import { CopyButton } from "@/components/ui/copy-button";
import {
  Dialog,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
} from "@/components/ui/dialog";
import Link from "@/components/ui/link";
import { KEY_VARIABLE } from "@/lib/models/snippets";

/**
 * Shows a new key's secret, the only time it is ever visible, with a copy button, and how to use it: exported as
 * $TOLLGATE_API_KEY, which every quick start (the home, a model's page) reads.
 */
export function SecretDialog({ secret, onClose }: { secret: string | null; onClose: () => void }) {
  return (
    <Dialog
      open={secret !== null}
      onOpenChange={(open) => {
        if (!open) onClose();
      }}
    >
      <DialogContent className="sm:max-w-2xl">
        <DialogHeader>
          <DialogTitle>Your new API key</DialogTitle>
          <DialogDescription className="flex items-center gap-2">
            <TriangleAlert className="size-4 text-warning" />
            Copy it now: Tollgate stores only a hash and cannot show it again.
          </DialogDescription>
        </DialogHeader>
        <div className="flex items-center gap-2">
          <code
            data-testid="new-key-secret"
            className="flex-1 rounded-md border bg-muted px-3 py-2 font-mono text-sm break-all"
          >
            {secret}
          </code>
          <CopyButton text={secret ?? ""} label="Copy key" withText />
        </div>
        <pre className="overflow-x-auto rounded-md border bg-muted/50 p-3 text-xs">
          {`export ${KEY_VARIABLE}="${secret ? `${secret.slice(0, 11)}…` : ""}"  # the whole secret`}
        </pre>
        <p className="text-muted-foreground text-xs">
          Every quick start reads it from <code>${KEY_VARIABLE}</code>: see{" "}
          <Link className="underline" href="/home">
            Home
          </Link>{" "}
          or a model&apos;s page under{" "}
          <Link className="underline" href="/account/models">
            Models &amp; prices
          </Link>
          .
        </p>
        <DialogFooter>
          <Button onClick={onClose}>Done</Button>
        </DialogFooter>
      </DialogContent>
    </Dialog>
  );
}
