"use client";

import { Search } from "lucide-react";
import { useSearchParams } from "next/navigation";
import { useEffect, useState } from "react";
import { usePlans } from "@/components/plans/queries";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent } from "@/components/ui/card";
import { CopyButton } from "@/components/ui/copy-button";
import { Input } from "@/components/ui/input";
import Link from "@/components/ui/link";
import { Pager, pageCount } from "@/components/ui/pager";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "@/components/ui/select";
import { toast } from "@/components/ui/sonner";
import {
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableHeader,
  TableMessage,
  TableRow,
} from "@/components/ui/table";
import { UtcTime } from "@/components/ui/utc-time";
import { type UserRow, type UsersFilter, useUpdateUser, useUsers } from "./queries";
import { UserDataMenu } from "./user-data-menu";

const ANY = "any";
const NO_PLAN = "none";

/** An erased user keeps their row under a pseudonym (lib/gdpr/erase.ts): nothing more to do with them. */
const erased = (user: UserRow) => user.email === `erased-${user.id}@invalid`;

const linkClass = "underline-offset-2 hover:text-foreground hover:underline";

export function UsersTable({ currentUserId }: { currentUserId: string }) {
  // ?q= from a link (a call's or a key's owner) starts the search there.
  const initial = useSearchParams().get("q")?.slice(0, 200) ?? "";
  const [search, setSearch] = useState(initial);
  const [filter, setFilter] = useState<UsersFilter>({ q: initial, role: "", status: "", page: 1 });
  useEffect(() => {
    const t = setTimeout(() => setFilter((f) => (f.q === search ? f : { ...f, q: search, page: 1 })), 250);
    return () => clearTimeout(t);
  }, [search]);
  const { data, isLoading, error } = useUsers(filter);
  const update = useUpdateUser();
  const plans = usePlans();
  const pages = pageCount(data?.total, data?.pageSize ?? 20);

  const change = (
    user: UserRow,
    body: { role?: UserRow["role"]; status?: UserRow["status"]; planId?: string | null },
    verb: string,
  ) =>
    update.mutate(
      { id: user.id, ...body },
      {
        onSuccess: () => toast.success(`${user.email} ${verb}`),
        onError: (e) => toast.error(e.message),
      },
    );

  return (
    <Card>
      <CardContent className="grid gap-4">
        <div className="flex flex-wrap items-center gap-2">
          <div className="relative min-w-64 flex-1">
            <Search className="absolute top-2.5 left-2.5 size-4 text-muted-foreground" />
            <Input
              aria-label="Search users"
              placeholder="Search by email or name"
              className="pl-8"
              value={search}
              onChange={(e) => setSearch(e.target.value)}
            />
          </div>
          <Select
            value={filter.role || ANY}
            onValueChange={(v) => setFilter({ ...filter, role: v === ANY ? "" : v, page: 1 })}
          >
            <SelectTrigger aria-label="Filter by role" className="w-36">
              <SelectValue />
            </SelectTrigger>
            <SelectContent>
              <SelectItem value={ANY}>All roles</SelectItem>
              <SelectItem value="admin">Admins</SelectItem>
              <SelectItem value="developer">Developers</SelectItem>
            </SelectContent>
          </Select>
          <Select
            value={filter.status || ANY}
            onValueChange={(v) => setFilter({ ...filter, status: v === ANY ? "" : v, page: 1 })}
          >
            <SelectTrigger aria-label="Filter by status" className="w-36">
              <SelectValue />
            </SelectTrigger>
            <SelectContent>
              <SelectItem value={ANY}>All statuses</SelectItem>
              <SelectItem value="active">Active</SelectItem>
              <SelectItem value="suspended">Suspended</SelectItem>
            </SelectContent>
          </Select>
        </div>
        {error ? <p className="text-sm text-destructive">{error.message}</p> : null}
        <Table>
          <TableHeader>
            <TableRow>
              <TableHead>User</TableHead>
              <TableHead>Role</TableHead>
              <TableHead>Plan</TableHead>
              <TableHead>Status · since</TableHead>
              <TableHead>Links</TableHead>
              <TableHead className="text-right">Actions</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {isLoading ? (
              <TableMessage colSpan={6}>Loading…</TableMessage>
            ) : data?.items.length === 0 ? (
              <TableMessage colSpan={6}>No users match.</TableMessage>
            ) : (
              data?.items.map((user) => {
                const self = user.id === currentUserId;
                return (
                  <TableRow key={user.id} data-testid={`user-row-${user.email}`}>
                    <TableCell className="max-w-52">
                      <div className="flex min-w-0 items-center">
                        <span className="truncate font-medium" title={user.email}>
                          {user.email}
                        </span>
                        <CopyButton text={user.id} label={`Copy user id of ${user.email}`} className="ml-1" />
                      </div>
                      <span className="block truncate text-xs text-muted-foreground" title={user.name}>
                        {user.name || "—"}
                      </span>
                    </TableCell>
                    <TableCell>
                      <Select
                        value={user.role}
                        disabled={self || update.isPending}
                        onValueChange={(role) =>
                          change(user, { role: role as UserRow["role"] }, `is now ${role}`)
                        }
                      >
                        <SelectTrigger aria-label={`Role of ${user.email}`} className="h-8 w-28">
                          <SelectValue />
                        </SelectTrigger>
                        <SelectContent>
                          <SelectItem value="developer">Developer</SelectItem>
                          <SelectItem value="admin">Admin</SelectItem>
                        </SelectContent>
                      </Select>
                    </TableCell>
                    <TableCell>
                      <Select
                        value={user.planId ?? NO_PLAN}
                        disabled={update.isPending || !plans.data}
                        onValueChange={(v) => {
                          const planId = v === NO_PLAN ? null : v;
                          const name =
                            plans.data?.items.find((p) => p.id === planId)?.name ?? "pay as you go";
                          change(user, { planId }, `is now on ${name}`);
                        }}
                      >
                        <SelectTrigger aria-label={`Plan of ${user.email}`} className="h-8 w-36">
                          <SelectValue>{user.planName ?? "Pay as you go"}</SelectValue>
                        </SelectTrigger>
                        <SelectContent>
                          <SelectItem value={NO_PLAN}>Pay as you go</SelectItem>
                          {plans.data?.items.map((p) => (
                            <SelectItem key={p.id} value={p.id}>
                              {p.name}
                            </SelectItem>
                          ))}
                        </SelectContent>
                      </Select>
                    </TableCell>
                    <TableCell className="whitespace-nowrap">
                      <Badge variant={user.status === "active" ? "success" : "destructive"}>
                        {user.status}
                      </Badge>
                      <UtcTime at={user.createdAt} day className="block text-xs text-muted-foreground" />
                    </TableCell>
                    <TableCell className="text-xs whitespace-nowrap text-muted-foreground">
                      {user.accountId ? (
                        <Link
                          href={`/admin/accounts/${user.accountId}`}
                          className={linkClass}
                          aria-label={`Account of ${user.email}`}
                        >
                          Account
                        </Link>
                      ) : (
                        "—"
                      )}
                      {" · "}
                      <Link
                        href={`/admin/keys?userId=${user.id}`}
                        className={linkClass}
                        aria-label={`Keys of ${user.email}`}
                      >
                        Keys
                      </Link>
                      {" · "}
                      <Link
                        href={`/admin/requests?userId=${user.id}`}
                        className={linkClass}
                        aria-label={`Calls of ${user.email}`}
                      >
                        Calls
                      </Link>
                    </TableCell>
                    <TableCell className="text-right">
                      <div className="flex items-center justify-end gap-1">
                        {self ? (
                          <span className="text-xs text-muted-foreground">you</span>
                        ) : erased(user) ? (
                          <Badge variant="secondary">erased</Badge>
                        ) : user.status === "active" ? (
                          <Button
                            size="sm"
                            variant="outline"
                            disabled={update.isPending}
                            onClick={() => change(user, { status: "suspended" }, "suspended")}
                          >
                            Suspend
                          </Button>
                        ) : (
                          <Button
                            size="sm"
                            variant="outline"
                            disabled={update.isPending}
                            onClick={() => change(user, { status: "active" }, "reactivated")}
                          >
                            Reactivate
                          </Button>
                        )}
                        <UserDataMenu
                          user={user}
                          erasable={!self && user.role !== "admin" && !erased(user)}
                        />
                      </div>
                    </TableCell>
                  </TableRow>
                );
              })
            )}
          </TableBody>
        </Table>
        <div className="flex items-center justify-between text-sm text-muted-foreground">
          <span>{data ? `${data.total} user${data.total === 1 ? "" : "s"}` : ""}</span>
          <Pager page={filter.page} pages={pages} onPage={(page) => setFilter({ ...filter, page })} />
        </div>
      </CardContent>
    </Card>
  );
}
