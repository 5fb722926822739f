"use client";

import { KeyRound } from "lucide-react";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { CreateKeyDialog } from "@/components/keys/create-key-dialog";
import { SecretDialog } from "@/components/keys/secret-dialog";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { CodeBlock, CodeTabs } from "@/components/ui/code-tabs";
import Link from "@/components/ui/link";
import { KEY_VARIABLE, modelSnippets } from "@/lib/models/snippets";

/**
 * The first call, ready to paste: with no key yet, a call to create one here (its secret shown once); with keys, the
 * newest one's prefix and snippets that read its secret from $TOLLGATE_API_KEY, calling a chat model the person may
 * use through the gateway.
 */
export function QuickStart({
  gatewayUrl,
  model,
  apiKey,
  activeKeys,
}: {
  gatewayUrl: string;
  model: string | null;
  apiKey: { name: string; prefix: string } | null;
  activeKeys: number;
}) {
  const router = useRouter();
  const [secret, setSecret] = useState<string | null>(null);
  const created = (value: string) => {
    setSecret(value);
    router.refresh();
  };

  return (
    <Card data-testid="quick-start" className="min-w-0">
      <CardHeader>
        <CardTitle>Quick start</CardTitle>
        <CardDescription>
          Tollgate speaks the OpenAI API at <code className="font-mono break-all">{gatewayUrl}</code>.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid min-w-0 gap-4">
        {apiKey === null ? (
          <div
            data-testid="no-key"
            className="flex flex-wrap items-center justify-between gap-3 rounded-lg border border-dashed p-4"
          >
            <div className="grid gap-1">
              <p className="flex items-center gap-2 font-medium">
                <KeyRound className="size-4" /> Create your first API key
              </p>
              <p className="text-sm text-muted-foreground">
                Apps send it to the gateway as a Bearer token. Its secret is shown once, when you create it.
              </p>
            </div>
            <div className="flex items-center gap-2">
              <Button asChild variant="outline">
                <Link href="/account/keys">My API keys</Link>
              </Button>
              <CreateKeyDialog onCreated={created} />
            </div>
          </div>
        ) : (
          <ol className="grid min-w-0 gap-4 text-sm">
            <li className="grid min-w-0 gap-2">
              <p>
                <span className="font-medium">1. Put your key in the environment.</span>{" "}
                <span className="text-muted-foreground">
                  Use the secret of{" "}
                  <span data-testid="quick-start-key">
                    {apiKey.name} (<code className="font-mono">{apiKey.prefix}…</code>)
                  </span>
                  {activeKeys > 1 ? ` or of another of your ${activeKeys} keys` : ""}. It was shown once, when
                  the key was created; Tollgate keeps only its hash, so lost secrets mean{" "}
                  <Link href="/account/keys" className="underline underline-offset-4">
                    a new key
                  </Link>
                  .
                </span>
              </p>
              <CodeBlock
                code={`export ${KEY_VARIABLE}="${apiKey.prefix}…"  # paste the key's whole secret here`}
                caption="shell"
                label="Copy export line"
                testId="code-export"
              />
            </li>
            <li className="grid min-w-0 gap-2">
              <p>
                <span className="font-medium">2. Make a call.</span>{" "}
                <span className="text-muted-foreground">
                  {model ? (
                    <>
                      With <code className="font-mono">{model}</code>, a chat model your key may use. The
                      snippets read <code className="font-mono">${KEY_VARIABLE}</code>: paste them as they
                      are.
                    </>
                  ) : (
                    "No chat model is open to your plan and key yet; ask an administrator."
                  )}
                </span>
              </p>
              {model ? <Snippets gatewayUrl={gatewayUrl} model={model} /> : null}
            </li>
          </ol>
        )}
      </CardContent>
      <SecretDialog secret={secret} onClose={() => setSecret(null)} />
    </Card>
  );
}

function Snippets({ gatewayUrl, model }: { gatewayUrl: string; model: string }) {
  return <CodeTabs snippets={modelSnippets(gatewayUrl, model, ["chat"])} />;
}
