import type { Metadata } from "next";
import { Suspense } from "react";
import { PageHeader } from "@/components/shell/page-header";
import { CreateUserDialog } from "@/components/users/create-user-dialog";
import { UsersTable } from "@/components/users/users-table";
import { requireUser } from "@/lib/auth/current";
import { config } from "@/lib/config";

export const metadata: Metadata = { title: "Users" };

export default async function UsersPage() {
  const user = await requireUser("admin");
  return (
    <>
      <PageHeader
        title="Users"
        description="Everyone who can sign in. Suspending a user ends their sessions at once."
        actions={<CreateUserDialog passwordRequired={config().AUTH_PROVIDER === "local"} />}
      />
      <Suspense>
        <UsersTable currentUserId={user.userId} />
      </Suspense>
    </>
  );
}
