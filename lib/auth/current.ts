import "server-only";
import { cookies, headers } from "next/headers";
import { redirect } from "next/navigation";
import { authenticateCredentials, type Principal } from "./index";
import type { Role } from "./types";

/** For server components: the signed-in user, or null. */
export async function currentUser(): Promise<Principal | null> {
  const [cookieStore, headerStore] = await Promise.all([cookies(), headers()]);
  return authenticateCredentials({
    cookies: cookieStore.getAll().map(({ name, value }) => ({ name, value })),
    authorization: headerStore.get("authorization"),
  });
}

/** For pages: the signed-in user of the given role; anonymous goes to /login, the wrong role to their home. */
export async function requireUser(role?: Role): Promise<Principal> {
  const user = await currentUser();
  if (!user) redirect("/login");
  if (role && user.role !== role) redirect(homeFor(user));
  return user;
}

/** Where a person lands after signing in: admins on the overview, developers on their home. */
export function homeFor(user: Pick<Principal, "role">): string {
  return user.role === "admin" ? "/admin" : "/home";
}
