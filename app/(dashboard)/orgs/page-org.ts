import "server-only";
import { notFound } from "next/navigation";
import type { Principal } from "@/lib/auth";
import type { Actor } from "@/lib/auth/types";
import { db } from "@/lib/db";
import { AppError } from "@/lib/http/errors";
import { type OrgPage, orgPage } from "@/lib/orgs/overview";

/** The organization a page names, as the signed-in person may see it; the 404 page when they may not. */
export async function openOrgPage(user: Principal, ref: string): Promise<{ page: OrgPage; actor: Actor }> {
  const actor: Actor = { userId: user.userId, kind: "user", role: user.role };
  try {
    return { page: await orgPage(db(), actor, decodeURIComponent(ref)), actor };
  } catch (error) {
    if (error instanceof AppError && error.code === "not_found") notFound();
    throw error;
  }
}
