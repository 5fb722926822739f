import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { LoginForm } from "@/components/auth/login-form";
import { currentUser, homeFor } from "@/lib/auth/current";
import { config } from "@/lib/config";

export const metadata: Metadata = { title: "Sign in" };
export const dynamic = "force-dynamic";

export default async function LoginPage({ searchParams }: { searchParams: Promise<{ next?: string }> }) {
  const user = await currentUser();
  if (user) redirect(homeFor(user));
  const { next } = await searchParams;
  const cfg = config();
  return (
    <main className="flex min-h-screen items-center justify-center bg-muted/40 p-6">
      <LoginForm
        provider={cfg.AUTH_PROVIDER}
        next={next?.startsWith("/") && !next.startsWith("//") ? next : undefined}
        supabase={
          cfg.AUTH_PROVIDER === "supabase"
            ? { url: cfg.NEXT_PUBLIC_SUPABASE_URL!, anonKey: cfg.NEXT_PUBLIC_SUPABASE_ANON_KEY! }
            : undefined
        }
      />
    </main>
  );
}
