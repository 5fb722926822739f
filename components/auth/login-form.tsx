"use client";

import { createBrowserClient } from "@supabase/ssr";
import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { Logo } from "@/components/shell/logo";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Field, FormError } from "@/components/ui/form";
import { Input } from "@/components/ui/input";
import { api } from "@/lib/ui/api";

interface Props {
  provider: "local" | "supabase";
  next?: string;
  supabase?: { url: string; anonKey: string };
}

export function LoginForm({ provider, next, supabase }: Props) {
  const router = useRouter();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const signIn = useMutation({
    mutationFn: async () => {
      if (provider === "supabase" && supabase) {
        const client = createBrowserClient(supabase.url, supabase.anonKey);
        const { error } = await client.auth.signInWithPassword({ email, password });
        if (error) throw new Error(error.message);
        return;
      }
      await api("/api/auth/login", { body: { email, password } });
    },
    onSuccess: () => {
      router.replace(next ?? "/");
      router.refresh();
    },
  });

  return (
    <Card className="w-full max-w-sm">
      <CardHeader>
        <Logo className="mb-2" />
        <CardTitle className="text-xl">Sign in</CardTitle>
        <CardDescription>Manage keys, balances and usage of your LLM gateway.</CardDescription>
      </CardHeader>
      <CardContent>
        <form
          className="grid gap-4"
          onSubmit={(e) => {
            e.preventDefault();
            signIn.mutate();
          }}
        >
          <FormError message={signIn.error?.message} />
          <Field id="email" label="Email">
            <Input
              id="email"
              type="email"
              autoComplete="username"
              required
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          </Field>
          <Field id="password" label="Password">
            <Input
              id="password"
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </Field>
          <Button type="submit" disabled={signIn.isPending}>
            {signIn.isPending ? "Signing in…" : "Sign in"}
          </Button>
        </form>
      </CardContent>
    </Card>
  );
}
