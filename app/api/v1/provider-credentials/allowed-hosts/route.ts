import { db } from "@/lib/db";
import { parseJson } from "@/lib/http/body";
import { withSession } from "@/lib/http/handler";
import { json } from "@/lib/http/respond";
import { allowedProviderHosts, setAllowedProviderHosts } from "@/lib/providers/base-url";
import { allowedHostsBody } from "@/lib/providers/schemas";
import { assertAdmin } from "@/lib/users/assert-admin";

/** The hosts provider base URLs may name besides public https ones (a self-hosted model on a private network). */
export const GET = withSession({ role: "admin" }, async ({ actor }) => {
  assertAdmin(actor);
  return json({ hosts: await allowedProviderHosts(db()) });
});

export const PUT = withSession({ role: "admin" }, async ({ req, actor }) => {
  const { hosts } = await parseJson(req, allowedHostsBody);
  return json(await setAllowedProviderHosts(db(), actor, hosts));
});
