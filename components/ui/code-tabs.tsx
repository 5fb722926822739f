"use client";

import { CopyButton } from "@/components/ui/copy-button";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { cn } from "@/lib/utils";

/** The languages every quick start and "view code" shows, in this order. */
export const CODE_LANGUAGES = [
  { id: "curl", name: "curl", caption: "shell" },
  { id: "python", name: "Python", caption: "pip install openai" },
  { id: "typescript", name: "TypeScript", caption: "npm install openai" },
] as const;

export type CodeLanguage = (typeof CODE_LANGUAGES)[number]["id"];

/**
 * One block of code to copy: a caption and a copy button above it, the code below. The block is a region a keyboard
 * can focus, so a line wider than the block scrolls for keyboards too (as TableScroller does).
 */
export function CodeBlock({
  code,
  caption,
  label,
  testId,
  className,
}: {
  code: string;
  caption: string;
  label: string;
  testId: string;
  /** Extra classes for the code itself (e.g. a maximum height inside a dialog). */
  className?: string;
}) {
  return (
    <div className="min-w-0 overflow-hidden rounded-md border bg-muted">
      <div className="flex items-center justify-between gap-2 border-b px-3 py-1">
        <span className="text-xs text-muted-foreground">{caption}</span>
        <CopyButton text={code} label={label} withText />
      </div>
      <pre
        data-testid={testId}
        {...{ tabIndex: 0, role: "region", "aria-label": label.replace(/^Copy /, "") }}
        className={cn(
          "overflow-auto p-3 font-mono text-xs leading-relaxed focus-visible:outline-2 focus-visible:outline-ring",
          className,
        )}
      >
        {code}
      </pre>
    </div>
  );
}

/** The same call as curl, Python and TypeScript, one tab each; every block copyable ("Copy Python code"). */
export function CodeTabs({
  snippets,
  testIdPrefix = "code",
  className,
  codeClassName,
}: {
  snippets: Record<CodeLanguage, string>;
  /** Each block's test id is `${testIdPrefix}-${language}`. */
  testIdPrefix?: string;
  className?: string;
  codeClassName?: string;
}) {
  return (
    <Tabs defaultValue="curl" className={cn("min-w-0", className)}>
      <TabsList aria-label="Language">
        {CODE_LANGUAGES.map((l) => (
          <TabsTrigger key={l.id} value={l.id}>
            {l.name}
          </TabsTrigger>
        ))}
      </TabsList>
      {CODE_LANGUAGES.map((l) => (
        <TabsContent key={l.id} value={l.id} className="min-h-0 min-w-0">
          <CodeBlock
            code={snippets[l.id]}
            caption={l.caption}
            label={`Copy ${l.name} code`}
            testId={`${testIdPrefix}-${l.id}`}
            className={codeClassName}
          />
        </TabsContent>
      ))}
    </Tabs>
  );
}
