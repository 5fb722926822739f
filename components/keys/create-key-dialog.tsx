"use client";

import { KeyRound } from "lucide-react";
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
import { fieldErrors } from "@/lib/ui/api";
import { expiresAtOf, KeyInput, LimitFields, ModelsFieldset, toggled } from "./key-fields";
import { useCreateKey, useModels } from "./queries";

const empty = { name: "", userEmail: "", models: [] as string[], rpm: "", tpm: "", expires: "" };

export function CreateKeyDialog({
  onCreated,
  forUser,
  org,
}: {
  onCreated: (secret: string) => void;
  /** Admins can issue a key for another user by id. */
  forUser?: { id: string; email: string }[];
  /** An organization's key (its slug and name): it spends from the organization's account within the maker's caps. */
  org?: { slug: string; name: string };
}) {
  const [open, setOpen] = useState(false);
  const [form, setForm] = useState(empty);
  const [ownerId, setOwnerId] = useState("");
  const create = useCreateKey(org?.slug);
  const models = useModels();
  const errors = fieldErrors(create.error);
  const toggle = (name: string) => setForm((f) => ({ ...f, models: toggled(f.models, name) }));

  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    create.mutate(
      {
        name: form.name,
        userId: ownerId || undefined,
        allowedModels: form.models,
        rpmLimit: form.rpm ? Number(form.rpm) : null,
        tpmLimit: form.tpm ? Number(form.tpm) : null,
        expiresAt: expiresAtOf(form.expires),
      },
      {
        onSuccess: ({ secret }) => {
          setOpen(false);
          setForm(empty);
          setOwnerId("");
          create.reset();
          if (secret) onCreated(secret);
        },
      },
    );
  };

  return (
    <Dialog open={open} onOpenChange={setOpen}>
      <DialogTrigger asChild>
        <Button>
          <KeyRound /> New key
        </Button>
      </DialogTrigger>
      <DialogContent className="sm:max-w-xl">
        <form onSubmit={submit} className="grid gap-4">
          <DialogHeader>
            <DialogTitle>New API key</DialogTitle>
            <DialogDescription>
              {org
                ? `Apps send it as a Bearer token to the gateway; its calls are paid by ${org.name}, within your caps there.`
                : "Apps send it as a Bearer token to the gateway."}
            </DialogDescription>
          </DialogHeader>
          <FormError message={create.error && !Object.keys(errors).length ? create.error.message : null} />
          <KeyInput
            id="key-name"
            label="Name"
            error={errors.name}
            hint="Where it is used, e.g. “staging backend”."
            required
            value={form.name}
            onValue={(name) => setForm({ ...form, name })}
          />
          {forUser ? (
            <Field id="key-owner" label="Owner">
              <select
                id="key-owner"
                className="h-9 rounded-md border border-input bg-transparent px-3 text-sm"
                value={ownerId}
                onChange={(e) => setOwnerId(e.target.value)}
              >
                <option value="">Me</option>
                {forUser.map((u) => (
                  <option key={u.id} value={u.id}>
                    {u.email}
                  </option>
                ))}
              </select>
            </Field>
          ) : null}
          <ModelsFieldset
            note="None checked means every enabled model your plan allows; a key can narrow its plan, not widen it."
            choices={models.data?.items.map((m) => m.publicName) ?? []}
            checked={form.models}
            onToggle={toggle}
            error={errors.allowedModels}
          />
          <LimitFields
            idPrefix="key"
            className="grid grid-cols-3 gap-3"
            values={form}
            onChange={(patch) => setForm({ ...form, ...patch })}
            errors={{ rpm: errors.rpmLimit, tpm: errors.tpmLimit, expires: errors.expiresAt }}
            countInput={{ type: "number", min: 1 }}
          />
          <DialogFooter>
            <Button type="submit" disabled={create.isPending}>
              {create.isPending ? "Creating…" : "Create key"}
            </Button>
          </DialogFooter>
        </form>
      </DialogContent>
    </Dialog>
  );
}
