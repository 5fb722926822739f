import { hashPassword } from "@/lib/auth/password";
import type { Sql } from "@/lib/db/client";
import { call, sessionCookieFrom } from "./http";

export const PASSWORD = "correct-horse-battery-staple";

let hashed: Promise<string> | undefined;

/** Inserts a user directly (test fixture) and returns its id. */
export async function insertUser(
  sql: Sql,
  { email, role = "developer", status = "active" }: { email: string; role?: string; status?: string },
): Promise<string> {
  hashed ??= hashPassword(PASSWORD);
  const [row] = await sql<{ id: string }[]>`
    insert into users (email, name, role, status, password_hash)
    values (${email}, ${email.split("@")[0]!}, ${role}, ${status}, ${await hashed}) returning id`;
  return row!.id;
}

/** Signs in through the real login route and returns the session cookie. */
export async function signIn(email: string, password = PASSWORD): Promise<string> {
  const { POST } = await import("@/app/api/auth/login/route");
  const res = await call(POST, { body: { email, password } });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${JSON.stringify(res.body)}`);
  return sessionCookieFrom(res);
}
