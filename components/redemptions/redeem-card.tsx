"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Ticket } from "lucide-react";
import { useState } from "react";
import { usd } from "@/components/billing/format";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { toast } from "@/components/ui/sonner";
import { api } from "@/lib/ui/api";

/** A developer adds credit with a code an admin handed out. */
export function RedeemCard() {
  const qc = useQueryClient();
  const [code, setCode] = useState("");
  const redeem = useMutation({
    mutationFn: (value: string) =>
      api<{ creditedMicros: number }>("/api/v1/redeem", { body: { code: value } }),
    onSuccess: ({ creditedMicros }) => {
      toast.success(`${usd(creditedMicros)} added to your balance`);
      setCode("");
      qc.invalidateQueries({ queryKey: ["account"] });
      qc.invalidateQueries({ queryKey: ["ledger"] });
    },
  });
  return (
    <Card>
      <CardHeader>
        <CardTitle>Redeem a code</CardTitle>
        <CardDescription>
          A code from your administrator adds its amount to your balance, once.
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
