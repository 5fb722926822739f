"use client";

import { UserPlus } from "lucide-react";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import {
  Dialog,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
  DialogTrigger,
} from "@/components/ui/dialog";
import { Field, FormError } from "@/components/ui/form";
import { Input } from "@/components/ui/input";
import { Select, SelectContent, SelectItem, SelectTrigger, SelectValue } from "@/components/ui/select";
import { toast } from "@/components/ui/sonner";
import { fieldErrors } from "@/lib/ui/api";
import { useCreateUser } from "./queries";

export function CreateUserDialog({ passwordRequired }: { passwordRequired: boolean }) {
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState({
    email: "",
    name: "",
    role: "developer" as "developer" | "admin",
    password: "",
  });
  const create = useCreateUser();
  const errors = fieldErrors(create.error);

  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    create.mutate(
      { email: form.email, name: form.name, role: form.role, password: form.password || undefined },
      {
        onSuccess: ({ user }) => {
          toast.success(`Created ${user.email}`);
          setOpen(false);
          setForm({ email: "", name: "", role: "developer", password: "" });
          create.reset();
        },
      },
    );
  };

  return (
    <Dialog open={open} onOpenChange={setOpen}>
      <DialogTrigger asChild>
        <Button>
          <UserPlus /> New user
        </Button>
      </DialogTrigger>
      <DialogContent>
        <form onSubmit={submit} className="grid gap-4">
          <DialogHeader>
            <DialogTitle>New user</DialogTitle>
            <DialogDescription>
              Developers use the playground and their own keys; admins run the platform.
            </DialogDescription>
          </DialogHeader>
          <FormError message={create.error && !Object.keys(errors).length ? create.error.message : null} />
          <Field id="new-email" label="Email" error={errors.email}>
            <Input
              id="new-email"
              type="email"
              required
              value={form.email}
              onChange={(e) => setForm({ ...form, email: e.target.value })}
            />
          </Field>
          <Field id="new-name" label="Name" error={errors.name}>
            <Input
              id="new-name"
              value={form.name}
              onChange={(e) => setForm({ ...form, name: e.target.value })}
            />
          </Field>
          <Field id="new-role" label="Role" error={errors.role}>
            <Select
              value={form.role}
              onValueChange={(role) => setForm({ ...form, role: role as typeof form.role })}
            >
              <SelectTrigger id="new-role" className="w-full">
                <SelectValue />
              </SelectTrigger>
              <SelectContent>
                <SelectItem value="developer">Developer</SelectItem>
                <SelectItem value="admin">Admin</SelectItem>
              </SelectContent>
            </Select>
          </Field>
          {passwordRequired ? (
            <Field
              id="new-password"
              label="Initial password"
              error={errors.password}
              hint="At least 12 characters."
            >
              <Input
                id="new-password"
                type="password"
                autoComplete="new-password"
                required
                value={form.password}
                onChange={(e) => setForm({ ...form, password: e.target.value })}
              />
            </Field>
          ) : null}
          <DialogFooter>
            <Button type="submit" disabled={create.isPending}>
              {create.isPending ? "Creating…" : "Create user"}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
