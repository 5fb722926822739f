import { redirect } from "next/navigation";
import { currentUser, homeFor } from "@/lib/auth/current";

export const dynamic = "force-dynamic";

export default async function Home() {
  const user = await currentUser();
  redirect(user ? homeFor(user) : "/login");
}
