"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Ticket } from "lucide-react";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { usd } from "@/components/billing/format";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { toast } from "@/components/ui/sonner";
import { api } from "@/lib/ui/api";

/** A developer adds credit with a code an admin handed out; with `org`, to the organization's balance. */
export function RedeemCard({ org }: { org?: { slug: string; name: string } }) {
  const qc = useQueryClient();
  const router = useRouter();
  const [code, setCode] = useState("");
  const redeem = useMutation({
    mutationFn: (value: string) =>
      api<{ creditedMicros: number }>(
        org ? `/api/v1/orgs/${encodeURIComponent(org.slug)}/redeem` : "/api/v1/redeem",
        { body: { code: value } },
      ),
    onSuccess: ({ creditedMicros }) => {
      toast.success(`${usd(creditedMicros)} added to ${org ? `${org.name}'s` : "your"} balance`);
      setCode("");
      qc.invalidateQueries({ queryKey: ["account"] });
      qc.invalidateQueries({ queryKey: ["ledger"] });
      // An organization's billing page is read on the server.
      if (org) router.refresh();
    },
  });
  return (
    <Card>
      <CardHeader>
        <CardTitle>Redeem a code</CardTitle>
        <CardDescription>
          A code from your administrator adds its amount to {org ? `${org.name}'s` : "your"} balance, once.
        </CardDescription>
      </CardHeader>
      <CardContent>
        <form
          className="flex flex-wrap items-start gap-2"
          onSubmit={(e) => {
            e.preventDefault();
            if (code.trim()) redeem.mutate(code.trim());
          }}
        >
          <Input
            aria-label="Redemption code"
            placeholder="TG-XXXX-XXXX-XXXX-XXXX"
            className="w-80 font-mono"
            value={code}
            onChange={(e) => setCode(e.target.value)}
          />
          <Button type="submit" disabled={!code.trim() || redeem.isPending}>
            <Ticket /> Redeem
          </Button>
          {redeem.error ? (
            <p role="alert" data-testid="redeem-error" className="basis-full text-sm text-destructive">
              {redeem.error.message}
            </p>
          ) : null}
        </form>
      </CardContent>
    </Card>
  );
}
