"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { LogOut } from "lucide-react";
import { useState } from "react";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Confirm } from "@/components/ui/confirm";
import { toast } from "@/components/ui/sonner";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { api } from "@/lib/ui/api";
import { formatUtc } from "@/lib/utils";

interface SessionRow {
  id: string;
  createdAt: string;
  lastSeenAt: string;
  ip: string | null;
  userAgent: string;
  current: boolean;
}

function describeAgent(ua: string): string {
  const browser = /Firefox|Edg|Chrome|Safari/.exec(ua)?.[0]?.replace("Edg", "Edge") ?? "Unknown browser";
  const os = /Windows|Mac OS X|Linux|Android|iPhone/.exec(ua)?.[0]?.replace("Mac OS X", "macOS") ?? "";
  return os ? `${browser} on ${os}` : browser;
}

export function SessionsCard() {
  const qc = useQueryClient();
  const { data } = useQuery({
    queryKey: ["sessions"],
    queryFn: () => api<{ items: SessionRow[] }>("/api/v1/me/sessions"),
  });
  const revoke = useMutation({
    mutationFn: (id: string) => api(`/api/v1/me/sessions/${id}`, { method: "DELETE" }),
    onSuccess: () => {
      toast.success("Session signed out");
      qc.invalidateQueries({ queryKey: ["sessions"] });
    },
    onError: (e) => toast.error(e.message),
  });
  const [confirming, setConfirming] = useState(false);
  const everywhere = useMutation({
    mutationFn: () => api<{ sessionsSignedOut: number }>("/api/v1/me/sessions", { method: "DELETE" }),
    // This browser is signed out too: start again at the sign-in page.
    onSuccess: () => window.location.assign("/login"),
    onError: (e) => {
      setConfirming(false);
      toast.error(e.message);
    },
  });
  return (
    <Card>
      <CardHeader className="flex flex-row flex-wrap items-start justify-between gap-3">
        <div className="grid gap-1.5">
          <CardTitle>Active sessions</CardTitle>
          <CardDescription>
            Browsers signed in to your account. Sign out any you do not recognise.
          </CardDescription>
        </div>
        <Button variant="outline" size="sm" onClick={() => setConfirming(true)}>
          <LogOut /> Sign out everywhere
        </Button>
      </CardHeader>
      <Confirm
        open={confirming}
        title="Sign out everywhere?"
        description={`Every session of your account ends, this browser's included${
          data ? ` (${data.items.length} in all)` : ""
        }. You will sign in again with your password; your API keys keep working.`}
        confirmLabel="Sign out everywhere"
        destructive
        pending={everywhere.isPending}
        onConfirm={() => everywhere.mutate()}
        onCancel={() => setConfirming(false)}
      />
      <CardContent className="overflow-x-auto">
        <Table>
          <TableHeader>
            <TableRow>
              <TableHead>Device</TableHead>
              <TableHead className="hidden sm:table-cell">IP</TableHead>
              <TableHead className="hidden md:table-cell">Signed in</TableHead>
              <TableHead>Last active</TableHead>
              <TableHead />
            </TableRow>
          </TableHeader>
          <TableBody>
            {data?.items.map((s) => (
              <TableRow key={s.id}>
                <TableCell className="whitespace-normal">
                  {describeAgent(s.userAgent)}{" "}
                  {s.current ? <Badge variant="secondary">this browser</Badge> : null}
                </TableCell>
                <TableCell className="hidden text-muted-foreground sm:table-cell">{s.ip ?? "—"}</TableCell>
                <TableCell className="hidden whitespace-nowrap text-muted-foreground tabular-nums md:table-cell">
                  {formatUtc(s.createdAt)}
                </TableCell>
                <TableCell className="whitespace-normal text-muted-foreground tabular-nums sm:whitespace-nowrap">
                  {formatUtc(s.lastSeenAt)}
                </TableCell>
                <TableCell className="text-right">
                  {s.current ? null : (
                    <Button
                      size="sm"
                      variant="outline"
                      onClick={() => revoke.mutate(s.id)}
                      disabled={revoke.isPending}
                    >
                      Sign out
                    </Button>
                  )}
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </CardContent>
    </Card>
  );
}
