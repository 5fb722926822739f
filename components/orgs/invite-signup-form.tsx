"use client";

import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { Field, FormError } from "@/components/ui/form";
import { Input } from "@/components/ui/input";
import { toast } from "@/components/ui/sonner";
import { MIN_PASSWORD_LENGTH } from "@/lib/auth/password-policy";
import type { InvitationSignupBody } from "@/lib/orgs/schemas";
import { api, fieldErrors } from "@/lib/ui/api";

const empty = { name: "", password: "", confirm: "" };

/**
 * Sign-up by invitation, for a visitor who is not signed in and whose invited email has no account: name, password
 * and its repetition; the account is the invited email's. On success the new user is signed in and lands on the
 * organization's page.
 */
export function InviteSignupForm({
  token,
  email,
  organization,
}: {
  token: string;
  email: string;
  organization: { name: string; slug: string };
}) {
  const router = useRouter();
  const [form, setForm] = useState(empty);
  const [mismatch, setMismatch] = useState(false);
  const signUp = useMutation({
    mutationFn: (body: InvitationSignupBody) =>
      api<{ organization: { slug: string; name: string } }>(
        `/api/auth/invitations/${encodeURIComponent(token)}/signup`,
        { body },
      ),
    onSuccess: ({ organization: joined }) => {
      toast.success(`Welcome to ${joined.name}`);
      router.replace(`/orgs/${joined.slug}`);
      router.refresh();
    },
  });
  const errors = fieldErrors(signUp.error);
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    if (form.password !== form.confirm) {
      setMismatch(true);
      return;
    }
    setMismatch(false);
    signUp.mutate({ name: form.name, password: form.password });
  };
  return (
    <form onSubmit={submit} className="grid w-full gap-4" data-testid="invite-signup-form">
      <FormError message={signUp.error && !Object.keys(errors).length ? signUp.error.message : null} />
      <Field id="signup-email" label="Email" hint="The invited email: your account signs in with it.">
        <Input id="signup-email" type="email" autoComplete="username" value={email} readOnly disabled />
      </Field>
      <Field id="signup-name" label="Your name" error={errors.name}>
        <Input
          id="signup-name"
          autoComplete="name"
          required
          maxLength={120}
          value={form.name}
          onChange={(e) => setForm({ ...form, name: e.target.value })}
        />
      </Field>
      <Field
        id="signup-password"
        label="Password"
        error={errors.password}
        hint={`At least ${MIN_PASSWORD_LENGTH} characters.`}
      >
        <Input
          id="signup-password"
          type="password"
          autoComplete="new-password"
          required
          minLength={MIN_PASSWORD_LENGTH}
          maxLength={256}
          value={form.password}
          onChange={(e) => setForm({ ...form, password: e.target.value })}
        />
      </Field>
      <Field
        id="signup-confirm"
        label="Repeat the password"
        error={mismatch ? "does not match the password" : null}
      >
        <Input
          id="signup-confirm"
          type="password"
          autoComplete="new-password"
          required
          value={form.confirm}
          onChange={(e) => {
            setForm({ ...form, confirm: e.target.value });
            setMismatch(false);
          }}
        />
      </Field>
      <Button type="submit" disabled={signUp.isPending}>
        {signUp.isPending ? "Creating your account…" : `Create account and join ${organization.name}`}
      </Button>
    </form>
  );
}
