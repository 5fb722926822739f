"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { toast } from "@/components/ui/sonner";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { api } from "@/lib/ui/api";

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
  return (
    <Card>
      <CardHeader>
        <CardTitle>Active sessions</CardTitle>
        <CardDescription>
          Browsers signed in to your account. Sign out any you do not recognise.
        </CardDescription>
      </CardHeader>
      <CardContent>
        <Table>
          <TableHeader>
            <TableRow>
              <TableHead>Device</TableHead>
              <TableHead>IP</TableHead>
              <TableHead>Signed in</TableHead>
              <TableHead>Last active</TableHead>
              <TableHead />
            </TableRow>
          </TableHeader>
          <TableBody>
            {data?.items.map((s) => (
              <TableRow key={s.id}>
                <TableCell>
                  {describeAgent(s.userAgent)}{" "}
                  {s.current ? <Badge variant="secondary">this browser</Badge> : null}
                </TableCell>
                <TableCell className="text-muted-foreground">{s.ip ?? "—"}</TableCell>
                <TableCell className="text-muted-foreground">
                  {new Date(s.createdAt).toLocaleString()}
                </TableCell>
                <TableCell className="text-muted-foreground">
                  {new Date(s.lastSeenAt).toLocaleString()}
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
