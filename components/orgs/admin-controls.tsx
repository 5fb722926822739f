"use client";

import { Ban, RotateCcw } from "lucide-react";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Confirm } from "@/components/ui/confirm";
import { FormError } from "@/components/ui/form";
import { toast } from "@/components/ui/sonner";
import { useUpdateOrg } from "./queries";

/** A platform admin suspends an organization (its keys and playground refused) or reinstates it. */
export function OrgStatusControl({
  slug,
  name,
  status,
}: {
  slug: string;
  name: string;
  status: "active" | "suspended";
}) {
  const [confirming, setConfirming] = useState(false);
  const update = useUpdateOrg(slug);
  const next = status === "active" ? "suspended" : "active";
  return (
    <Card data-testid="org-status">
      <CardHeader>
        <CardTitle>Status: {status}</CardTitle>
        <CardDescription>
          {status === "active"
            ? `Suspending ${name} refuses its keys and the playground within seconds; its balance and members stay.`
            : `${name} is suspended: its keys are refused. Reinstating it lets its members call again.`}
        </CardDescription>
      </CardHeader>
      <CardContent>
        <Button
          variant={status === "active" ? "destructive" : "default"}
          onClick={() => setConfirming(true)}
          disabled={update.isPending}
        >
          {status === "active" ? <Ban /> : <RotateCcw />}
          {status === "active" ? "Suspend organization" : "Reinstate organization"}
        </Button>
        <FormError message={update.error?.message} />
      </CardContent>
      <Confirm
        open={confirming}
        title={status === "active" ? `Suspend ${name}?` : `Reinstate ${name}?`}
        description={
          status === "active"
            ? "Its keys and its members' playground are refused at the gateway within seconds, until reinstated."
            : "Its members' keys work again within seconds."
        }
        confirmLabel={status === "active" ? "Suspend" : "Reinstate"}
        destructive={status === "active"}
        pending={update.isPending}
        onCancel={() => setConfirming(false)}
        onConfirm={() =>
          update.mutate(
            { status: next },
            {
              onSuccess: () => toast.success(`${name} is ${next}`),
              onSettled: () => setConfirming(false),
            },
          )
        }
      />
    </Card>
  );
}
