"use client";

import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Field, FormError } from "@/components/ui/form";
import { Input } from "@/components/ui/input";
import { toast } from "@/components/ui/sonner";
import type { Json } from "@/lib/json";
import type { OrgRetention, OrgRetentionBody } from "@/lib/retention/schemas";
import { api, fieldErrors } from "@/lib/ui/api";

const toBody = (value: string) => (value.trim() === "" ? null : Number(value));

/** The organization's data retention: its owners and admins keep its detail and conversations for less. */
export function OrgRetentionSettings({ slug, retention }: { slug: string; retention: Json<OrgRetention> }) {
  const router = useRouter();
  const [form, setForm] = useState({
    usageDetailDays: retention.usageDetailDays === null ? "" : String(retention.usageDetailDays),
    playgroundDays: retention.playgroundDays === null ? "" : String(retention.playgroundDays),
  });
  const save = useMutation({
    mutationFn: (body: OrgRetentionBody) =>
      api<Json<OrgRetention>>(`/api/v1/orgs/${slug}/retention`, { method: "PATCH", body }),
    onSuccess: () => {
      toast.success("Data retention saved");
      router.refresh();
    },
  });
  const errors = fieldErrors(save.error);
  const { platform, effective } = retention;
  return (
    <Card data-testid="org-retention">
      <CardHeader>
        <CardTitle>Data retention</CardTitle>
        <CardDescription>
          Each call's detail is kept {effective.usageDetailDays} days and playground conversations{" "}
          {effective.playgroundDays} days after their last change. Leave a field empty for the platform's (
          {platform.usageDetailDays} and {platform.playgroundDays} days); you may keep less, never more. Daily
          totals and charges are kept whatever you choose; a day's detail leaves no sooner than 7 days after
          it and only once its month's statements are closed, so they keep their breakdown by member and key.
        </CardDescription>
      </CardHeader>
      <CardContent>
        <form
          className="grid gap-4"
          onSubmit={(e) => {
            e.preventDefault();
            save.mutate({
              usageDetailDays: toBody(form.usageDetailDays),
              playgroundDays: toBody(form.playgroundDays),
            });
          }}
        >
          <FormError message={save.error && !Object.keys(errors).length ? save.error.message : null} />
          <div className="grid gap-4 sm:grid-cols-2">
            <Field
              id="org-retention-detail"
              label="Usage detail (days)"
              hint={`At most ${platform.usageDetailDays}.`}
              error={errors.usageDetailDays}
            >
              <Input
                id="org-retention-detail"
                type="number"
                inputMode="numeric"
                min={1}
                placeholder={String(platform.usageDetailDays)}
                value={form.usageDetailDays}
                disabled={!retention.canChange}
                onChange={(e) => setForm((f) => ({ ...f, usageDetailDays: e.target.value }))}
              />
            </Field>
            <Field
              id="org-retention-playground"
              label="Playground conversations (days)"
              hint={`At most ${platform.playgroundDays}.`}
              error={errors.playgroundDays}
            >
              <Input
                id="org-retention-playground"
                type="number"
                inputMode="numeric"
                min={1}
                placeholder={String(platform.playgroundDays)}
                value={form.playgroundDays}
                disabled={!retention.canChange}
                onChange={(e) => setForm((f) => ({ ...f, playgroundDays: e.target.value }))}
              />
            </Field>
          </div>
          {retention.canChange ? (
            <div>
              <Button type="submit" disabled={save.isPending}>
                Save retention
              </Button>
            </div>
          ) : null}
        </form>
      </CardContent>
    </Card>
  );
}
