"use client";

import type * as React from "react";
import { Field } from "@/components/ui/form";
import { Input } from "@/components/ui/input";

/** The key's expiry as the API takes it: the end of the typed UTC day, null for none. */
export const expiresAtOf = (day: string) => (day ? new Date(`${day}T23:59:59Z`).toISOString() : null);

/** The model list with `name` checked or unchecked. */
export const toggled = (models: string[], name: string) =>
  models.includes(name) ? models.filter((m) => m !== name) : [...models, name];

/** A labelled text input of the key forms (name, limits, budgets, expiry): the field's id names the input too. */
export function KeyInput({
  id,
  label,
  error,
  hint,
  onValue,
  ...input
}: {
  id: string;
  label: string;
  error?: string | null;
  hint?: string;
  value: string;
  onValue: (value: string) => void;
} & Omit<React.ComponentProps<typeof Input>, "id" | "value" | "onChange">) {
  return (
    <Field id={id} label={label} error={error} hint={hint}>
      <Input id={id} {...input} onChange={(e) => onValue(e.target.value)} />
    </Field>
  );
}

/** The models a key may call: one checkbox each; none checked means all the plan allows. */
export function ModelsFieldset({
  note,
  choices,
  checked,
  onToggle,
  error,
}: {
  note: string;
  choices: string[];
  checked: string[];
  onToggle: (name: string) => void;
  error?: string | null;
}) {
  return (
    <fieldset className="grid gap-2">
      <legend className="mb-2 text-sm font-medium">Models</legend>
      <p className="text-xs text-muted-foreground">{note}</p>
      <div className="flex flex-wrap gap-3">
        {choices.map((name) => (
          <label key={name} className="flex items-center gap-2 text-sm">
            <input type="checkbox" checked={checked.includes(name)} onChange={() => onToggle(name)} />
            {name}
          </label>
        ))}
      </div>
      {error ? <p className="text-sm text-destructive">{error}</p> : null}
    </fieldset>
  );
}

type Limits = { rpm: string; tpm: string; expires: string };

const COUNTS = [
  { field: "rpm", label: "Requests / min" },
  { field: "tpm", label: "Tokens / min" },
] as const;

/**
 * A key's requests and tokens per minute (empty: the plan's) and its expiry (empty: never), side by side.
 * `idPrefix` keeps each form's ids ("key-rpm", "edit-key-rpm"…); `countInput` is how the two counts are typed.
 */
export function LimitFields({
  idPrefix,
  className,
  values,
  onChange,
  errors,
  countInput,
}: {
  idPrefix: string;
  className: string;
  values: Limits;
  onChange: (patch: Partial<Limits>) => void;
  errors: { rpm?: string | null; tpm?: string | null; expires?: string | null };
  countInput: Omit<React.ComponentProps<typeof Input>, "id" | "value" | "onChange">;
}) {
  return (
    <div className={className}>
      {COUNTS.map((c) => (
        <KeyInput
          key={c.field}
          id={`${idPrefix}-${c.field}`}
          label={c.label}
          error={errors[c.field]}
          hint="Empty: the plan's"
          {...countInput}
          value={values[c.field]}
          onValue={(value) => onChange({ [c.field]: value })}
        />
      ))}
      <KeyInput
        id={`${idPrefix}-expires`}
        label="Expires (UTC)"
        error={errors.expires}
        hint="Empty: never"
        type="date"
        value={values.expires}
        onValue={(expires) => onChange({ expires })}
      />
    </div>
  );
}
