"use client";

import { Check, Copy } from "lucide-react";
import { useEffect, useState } from "react";
import { Button } from "@/components/ui/button";
import { cn } from "@/lib/utils";

/**
 * Copies a text and says so for a moment (a check mark, "Copied" to screen readers, data-copied for tests); a
 * refused clipboard (an insecure page, a denied permission) says "Copy failed" instead of failing silently.
 */
export function CopyButton({
  text,
  label,
  className,
  withText = false,
}: {
  text: string;
  label: string;
  className?: string;
  withText?: boolean;
}) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  useEffect(() => {
    if (state === "idle") return;
    const timer = setTimeout(() => setState("idle"), 1500);
    return () => clearTimeout(timer);
  }, [state]);
  return (
    <Button
      type="button"
      variant="ghost"
      size={withText ? "sm" : "icon"}
      className={cn(!withText && "size-6", className)}
      aria-label={state === "copied" ? "Copied" : state === "failed" ? "Copy failed" : label}
      data-copied={state === "copied" ? "true" : undefined}
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
          setState("copied");
        } catch {
          setState("failed");
        }
      }}
    >
      {state === "copied" ? <Check className="size-3.5" /> : <Copy className="size-3.5" />}
      {withText ? (state === "copied" ? "Copied" : state === "failed" ? "Copy failed" : "Copy") : null}
    </Button>
  );
}
