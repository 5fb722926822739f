"use client";

import { Check, Copy, TriangleAlert } from "lucide-react";
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

/** Shows a new key's secret, the only time it is ever visible, with a copy button and a usage example. */
export function SecretDialog({
  secret,
  gatewayUrl,
  onClose,
}: {
  secret: string | null;
  gatewayUrl: string;
  onClose: () => void;
}) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    if (!secret) return;
    await navigator.clipboard.writeText(secret);
    setCopied(true);
  };
  return (
    <Dialog
      open={secret !== null}
      onOpenChange={(open) => {
        if (!open) {
          setCopied(false);
          onClose();
        }
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
          <Button variant="outline" onClick={copy} aria-label="Copy key">
            {copied ? <Check /> : <Copy />} {copied ? "Copied" : "Copy"}
          </Button>
        </div>
        <pre className="overflow-x-auto rounded-md border bg-muted/50 p-3 text-xs">
          {`from openai import OpenAI
client = OpenAI(base_url="${gatewayUrl}", api_key="${secret ? `${secret.slice(0, 11)}…` : ""}")
client.chat.completions.create(model="fake-small", messages=[{"role": "user", "content": "Hello"}])`}
        </pre>
        <DialogFooter>
          <Button onClick={onClose}>Done</Button>
        </DialogFooter>
      </DialogContent>
    </Dialog>
  );
}
