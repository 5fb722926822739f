"use client";

import { Building2 } from "lucide-react";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import {
  Dialog,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
  DialogTrigger,
} from "@/components/ui/dialog";
import { Field, FormError } from "@/components/ui/form";
import { Input } from "@/components/ui/input";
import { toast } from "@/components/ui/sonner";
import { isOrgSlug, ORG_SLUG, ORG_SLUG_HINT, ORG_SLUG_NOT_ID_HINT, slugFromName } from "@/lib/orgs/schemas";
import { fieldErrors } from "@/lib/ui/api";
import { useCreateOrg } from "./queries";

const empty = { name: "", slug: "", ownerEmail: "" };

/**
 * Creates an organization: a name, the slug its URLs use (from the name unless typed), and for a platform admin the
 * user who owns it (themselves by default). The creator of their own organization becomes its owner.
 */
export function CreateOrgDialog({
  forUser = false,
  open: controlledOpen,
  onOpenChange,
  trigger = true,
  onCreated,
}: {
  /** Platform admins: an owner's email field. */
  forUser?: boolean;
  open?: boolean;
  onOpenChange?: (open: boolean) => void;
  /** Whether the dialog brings its own "Create organization" button. */
  trigger?: boolean;
  /** Where to go once made; the organization's page by default. */
  onCreated?: (slug: string) => void;
}) {
  const router = useRouter();
  const [ownOpen, setOwnOpen] = useState(false);
  const open = controlledOpen ?? ownOpen;
  const setOpen = (next: boolean) => {
    setOwnOpen(next);
    onOpenChange?.(next);
  };
  const [form, setForm] = useState(empty);
  const [slugTouched, setSlugTouched] = useState(false);
  const create = useCreateOrg();
  const errors = fieldErrors(create.error);
  const slug = slugTouched ? form.slug : slugFromName(form.name);
  const slugValid = slug === "" || isOrgSlug(slug);

  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    create.mutate(
      {
        name: form.name.trim(),
        slug: slug || undefined,
        ownerEmail: forUser && form.ownerEmail.trim() ? form.ownerEmail.trim() : undefined,
      },
      {
        onSuccess: ({ organization }) => {
          toast.success(`Created ${organization.name}`);
          setOpen(false);
          setForm(empty);
          setSlugTouched(false);
          create.reset();
          if (onCreated) onCreated(organization.slug);
          // A platform admin who made it for someone lands on its admin page; its owner on its overview.
          else router.push(forUser ? `/admin/orgs/${organization.id}` : `/orgs/${organization.slug}`);
        },
      },
    );
  };

  return (
    <Dialog open={open} onOpenChange={setOpen}>
      {trigger ? (
        <DialogTrigger asChild>
          <Button>
            <Building2 /> Create organization
          </Button>
        </DialogTrigger>
      ) : null}
      <DialogContent>
        <form onSubmit={submit} className="grid gap-4">
          <DialogHeader>
            <DialogTitle>Create organization</DialogTitle>
            <DialogDescription>
              A shared balance your team spends from, each member within the caps you set.{" "}
              {forUser ? "Its owner manages it." : "You become its owner."}
            </DialogDescription>
          </DialogHeader>
          <FormError message={create.error && !Object.keys(errors).length ? create.error.message : null} />
          <Field id="org-name" label="Name" error={errors.name}>
            <Input
              id="org-name"
              required
              maxLength={100}
              placeholder="Acme Labs"
              value={form.name}
              onChange={(e) => setForm({ ...form, name: e.target.value })}
            />
          </Field>
          <Field
            id="org-slug"
            label="Slug"
            error={
              errors.slug ?? (slugValid ? null : ORG_SLUG.test(slug) ? ORG_SLUG_NOT_ID_HINT : ORG_SLUG_HINT)
            }
            hint={
              <>
                In its addresses: <span className="font-mono">/orgs/{slug || "…"}</span> and{" "}
                <span className="font-mono">?org={slug || "…"}</span>
              </>
            }
          >
            <Input
              id="org-slug"
              className="font-mono"
              maxLength={40}
              value={slug}
              onChange={(e) => {
                setSlugTouched(true);
                setForm({ ...form, slug: e.target.value.toLowerCase() });
              }}
            />
          </Field>
          {forUser ? (
            <Field
              id="org-owner"
              label="Owner's email"
              error={errors.ownerEmail}
              hint="An existing user; leave empty to own it yourself."
            >
              <Input
                id="org-owner"
                type="email"
                value={form.ownerEmail}
                onChange={(e) => setForm({ ...form, ownerEmail: e.target.value })}
              />
            </Field>
          ) : null}
          <DialogFooter>
            <Button type="submit" disabled={create.isPending || !form.name.trim() || !slugValid}>
              {create.isPending ? "Creating…" : "Create organization"}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
