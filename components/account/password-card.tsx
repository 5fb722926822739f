"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Field, FormError } from "@/components/ui/form";
import { Input } from "@/components/ui/input";
import { toast } from "@/components/ui/sonner";
import { MIN_PASSWORD_LENGTH } from "@/lib/auth/password-policy";
import type { ChangePasswordBody } from "@/lib/auth/schemas";
import { api, fieldErrors } from "@/lib/ui/api";

const empty = { currentPassword: "", newPassword: "", confirm: "" };

/** Changes the password: the current one is required; every other browser is signed out, this one stays. */
export function PasswordCard() {
  const qc = useQueryClient();
  const [form, setForm] = useState(empty);
  const [mismatch, setMismatch] = useState(false);
  const change = useMutation({
    mutationFn: (body: ChangePasswordBody) =>
      api<{ ok: true; sessionsSignedOut: number }>("/api/v1/me/password", { body }),
    onSuccess: ({ sessionsSignedOut }) => {
      setForm(empty);
      toast.success(
        sessionsSignedOut === 0
          ? "Password changed."
          : `Password changed. ${sessionsSignedOut} other session${sessionsSignedOut === 1 ? " was" : "s were"} signed out.`,
      );
      qc.invalidateQueries({ queryKey: ["sessions"] });
    },
  });
  const errors = fieldErrors(change.error);
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    if (form.newPassword !== form.confirm) {
      setMismatch(true);
      return;
    }
    setMismatch(false);
    change.mutate({ currentPassword: form.currentPassword, newPassword: form.newPassword });
  };
  return (
    <Card>
      <CardHeader>
        <CardTitle>Password</CardTitle>
        <CardDescription>
          Changing it signs out every other browser where you are signed in; this one stays signed in.
        </CardDescription>
      </CardHeader>
      <CardContent>
        <form onSubmit={submit} className="grid max-w-md gap-4" data-testid="password-form">
          <FormError message={change.error && !Object.keys(errors).length ? change.error.message : null} />
          <Field id="current-password" label="Current password" error={errors.currentPassword}>
            <Input
              id="current-password"
              type="password"
              autoComplete="current-password"
              required
              value={form.currentPassword}
              onChange={(e) => setForm({ ...form, currentPassword: e.target.value })}
            />
          </Field>
          <Field
            id="new-password"
            label="New password"
            error={errors.newPassword}
            hint={`At least ${MIN_PASSWORD_LENGTH} characters.`}
          >
            <Input
              id="new-password"
              type="password"
              autoComplete="new-password"
              required
              minLength={MIN_PASSWORD_LENGTH}
              maxLength={256}
              value={form.newPassword}
              onChange={(e) => setForm({ ...form, newPassword: e.target.value })}
            />
          </Field>
          <Field
            id="confirm-password"
            label="Repeat the new password"
            error={mismatch ? "does not match the new password" : null}
          >
            <Input
              id="confirm-password"
              type="password"
              autoComplete="new-password"
              required
              value={form.confirm}
              onChange={(e) => setForm({ ...form, confirm: e.target.value })}
            />
          </Field>
          <div>
            <Button type="submit" disabled={change.isPending}>
              {change.isPending ? "Changing…" : "Change password"}
            </Button>
          </div>
        </form>
      </CardContent>
    </Card>
  );
}
