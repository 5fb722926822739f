"use client";

import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Field, FormError } from "@/components/ui/form";
import { Input } from "@/components/ui/input";
import { toast } from "@/components/ui/sonner";
import type { Json } from "@/lib/json";
import type { OperatorSettings, OperatorSettingsBody } from "@/lib/statements/schemas";
import { api, fieldErrors } from "@/lib/ui/api";

const textareaClass =
  "min-h-20 w-full rounded-md border border-input bg-transparent px-3 py-2 text-sm shadow-xs outline-none focus-visible:border-ring focus-visible:ring-[3px] focus-visible:ring-ring/50";

/** What statements and receipts print about the operator (admins); every change is in the audit log. */
export function OperatorSettingsForm({ settings }: { settings: Json<OperatorSettings> }) {
  const [form, setForm] = useState<Required<OperatorSettingsBody>>({
    legalName: settings.legalName,
    address: settings.address,
    taxId: settings.taxId,
    contactEmail: settings.contactEmail,
    footer: settings.footer,
  });
  const save = useMutation({
    mutationFn: (body: OperatorSettingsBody) =>
      api<{ settings: Json<OperatorSettings> }>("/api/v1/operator-settings", { method: "PATCH", body }),
    onSuccess: () => toast.success("Operator settings saved"),
  });
  const errors = fieldErrors(save.error);
  const set = (field: keyof OperatorSettingsBody) => (e: { target: { value: string } }) =>
    setForm((f) => ({ ...f, [field]: e.target.value }));
  return (
    <Card className="max-w-3xl">
      <CardHeader>
        <CardTitle>Statements and receipts</CardTitle>
        <CardDescription>
          Printed at the top and bottom of every statement and receipt, on the page and in the PDF. A closed
          statement keeps its amounts; its documents print the settings in force when they are downloaded.
        </CardDescription>
      </CardHeader>
      <CardContent>
        <form
          className="grid gap-4"
          data-testid="operator-settings"
          onSubmit={(e) => {
            e.preventDefault();
            save.mutate(form);
          }}
        >
          <FormError message={save.error && !Object.keys(errors).length ? save.error.message : null} />
          <Field id="operator-legal-name" label="Legal name" error={errors.legalName}>
            <Input
              id="operator-legal-name"
              value={form.legalName}
              maxLength={200}
              onChange={set("legalName")}
            />
          </Field>
          <Field
            id="operator-address"
            label="Address"
            hint="As printed, one line per line."
            error={errors.address}
          >
            <textarea
              id="operator-address"
              className={textareaClass}
              value={form.address}
              maxLength={1000}
              onChange={set("address")}
            />
          </Field>
          <div className="grid gap-4 sm:grid-cols-2">
            <Field id="operator-tax-id" label="Tax id" error={errors.taxId}>
              <Input id="operator-tax-id" value={form.taxId} maxLength={100} onChange={set("taxId")} />
            </Field>
            <Field id="operator-contact-email" label="Contact email" error={errors.contactEmail}>
              <Input
                id="operator-contact-email"
                type="email"
                value={form.contactEmail}
                maxLength={254}
                onChange={set("contactEmail")}
              />
            </Field>
          </div>
          <Field id="operator-footer" label="Footer" hint="Printed at the bottom." error={errors.footer}>
            <textarea
              id="operator-footer"
              className={textareaClass}
              value={form.footer}
              maxLength={2000}
              onChange={set("footer")}
            />
          </Field>
          <div>
            <Button type="submit" disabled={save.isPending}>
              Save
            </Button>
          </div>
        </form>
      </CardContent>
    </Card>
  );
}
