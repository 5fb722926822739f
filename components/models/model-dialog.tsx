"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import {
  Dialog,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
} from "@/components/ui/dialog";
import { Field, FormError } from "@/components/ui/form";
import { Input } from "@/components/ui/input";
import Link from "@/components/ui/link";
import type { Json } from "@/lib/json";
import { hasOutputTokens, KIND_LABELS, kindsOfMode } from "@/lib/models/kinds";
import type { LiveDeployment, LiveModelInfo } from "@/lib/models/live";
import type { CatalogModel } from "@/lib/models/types";
import { ApiError, api, fieldErrors } from "@/lib/ui/api";

export type CatalogRow = Json<CatalogModel>;

const selectClass = "h-9 w-full rounded-md border border-input bg-transparent px-3 text-sm";
const textareaClass =
  "min-h-16 w-full rounded-md border border-input bg-transparent px-3 py-2 text-sm shadow-xs outline-none focus-visible:border-ring focus-visible:ring-[3px] focus-visible:ring-ring/50";

/** A whole number typed in a field, or null when it is not one (the API refuses it then; the form says so first). */
const count = (text: string) => (/^\d{1,9}$/.test(text.trim()) ? Number(text.trim()) : null);

/** What is wrong with the max output typed, null when nothing (or when the model has no output tokens to bound). */
const maxOutputProblem = (outputMeans: boolean, output: number | null, contextTokens: number | null) =>
  !outputMeans
    ? null
    : !output
      ? "a whole number of tokens"
      : contextTokens && output > contextTokens
        ? "at most the context window"
        : null;

interface ModelFieldValues {
  provider: string;
  contextWindow: string;
  maxOutput: string;
  description: string;
  enabled: boolean;
}

/** What the add dialog starts from (and returns to when closed). */
const NEW_MODEL: ModelFieldValues = {
  provider: "",
  contextWindow: "",
  maxOutput: "",
  description: "",
  enabled: true,
};

/** The state of the shared fields, from `initial`; `reset` puts it back. */
function useModelFields(initial: ModelFieldValues) {
  const [provider, setProvider] = useState(initial.provider);
  const [contextWindow, setContextWindow] = useState(initial.contextWindow);
  const [maxOutput, setMaxOutput] = useState(initial.maxOutput);
  const [description, setDescription] = useState(initial.description);
  const [enabled, setEnabled] = useState(initial.enabled);
  const reset = () => {
    setProvider(initial.provider);
    setContextWindow(initial.contextWindow);
    setMaxOutput(initial.maxOutput);
    setDescription(initial.description);
    setEnabled(initial.enabled);
  };
  return {
    provider,
    setProvider,
    contextWindow,
    setContextWindow,
    maxOutput,
    setMaxOutput,
    description,
    setDescription,
    enabled,
    setEnabled,
    reset,
  };
}

type ModelFieldState = ReturnType<typeof useModelFields>;

/**
 * The fields the add and the edit dialogs share: provider, context window, max output (or why there is none),
 * description and the enabled checkbox. `idPrefix` keeps each dialog's field ids ("model-…", "edit-…").
 */
function ModelFields({
  idPrefix,
  fields,
  errors,
  contextError,
  outputMeans,
  outputError,
  enabledLabel,
}: {
  idPrefix: "model" | "edit";
  fields: ModelFieldState;
  errors: Record<string, string>;
  contextError: string | null;
  outputMeans: boolean;
  outputError: string | null;
  enabledLabel: string;
}) {
  return (
    <>
      <Field id={`${idPrefix}-provider`} label="Provider" error={errors.provider}>
        <Input
          id={`${idPrefix}-provider`}
          value={fields.provider}
          onChange={(e) => fields.setProvider(e.target.value)}
        />
      </Field>
      <div className="grid gap-4 sm:grid-cols-2">
        <Field
          id={`${idPrefix}-context`}
          label="Context window (tokens)"
          error={errors.contextWindow ?? contextError}
        >
          <Input
            id={`${idPrefix}-context`}
            inputMode="numeric"
            value={fields.contextWindow}
            onChange={(e) => fields.setContextWindow(e.target.value)}
          />
        </Field>
        {outputMeans ? (
          <Field
            id={`${idPrefix}-max-output`}
            label="Max output (tokens)"
            error={errors.maxOutputTokens ?? outputError}
          >
            <Input
              id={`${idPrefix}-max-output`}
              inputMode="numeric"
              value={fields.maxOutput}
              onChange={(e) => fields.setMaxOutput(e.target.value)}
            />
          </Field>
        ) : (
          <p className="self-end pb-2 text-muted-foreground text-xs">
            No max output: this model does not answer in tokens.
          </p>
        )}
      </div>
      <Field
        id={`${idPrefix}-description`}
        label="Description (developers read it)"
        error={errors.description}
      >
        <textarea
          id={`${idPrefix}-description`}
          className={textareaClass}
          maxLength={500}
          value={fields.description}
          onChange={(e) => fields.setDescription(e.target.value)}
        />
      </Field>
      <label className="flex items-center gap-2 text-sm">
        <input
          type="checkbox"
          checked={fields.enabled}
          onChange={(e) => fields.setEnabled(e.target.checked)}
        />
        {enabledLabel}
      </label>
    </>
  );
}

function KindBadges({ kinds }: { kinds: string[] }) {
  return (
    <span className="flex flex-wrap gap-1">
      {kinds.map((k) => (
        <Badge key={k} variant="outline">
          {KIND_LABELS[k] ?? k}
        </Badge>
      ))}
    </span>
  );
}

/**
 * Adds a model: the admin picks a model group the gateway serves (its live model list) that the catalog does not
 * list yet; limits and provider are filled in from the gateway's view of it. When the gateway cannot be reached,
 * the dialog says so and takes a typed group only with the admin's explicit "save without the check" (the server
 * refuses a group the gateway answers it does not serve, whatever the form sends).
 */
export function AddModelDialog({
  open,
  onOpenChange,
  live,
  catalog,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  live: LiveModelInfo | undefined;
  catalog: CatalogRow[];
}) {
  const qc = useQueryClient();
  const [group, setGroup] = useState("");
  const fields = useModelFields(NEW_MODEL);
  const { provider, contextWindow, maxOutput, description, enabled } = fields;
  const [skipCheck, setSkipCheck] = useState(false);
  const [added, setAdded] = useState<CatalogRow | null>(null);
  const listed = new Set(catalog.map((m) => m.litellmModelGroup));
  const groups = new Map<string, LiveDeployment>();
  for (const d of live?.deployments ?? []) if (!groups.has(d.modelGroup)) groups.set(d.modelGroup, d);
  const reachable = live?.reachable ?? true;
  const deployment = groups.get(group);
  const kinds = kindsOfMode(deployment?.mode);
  const outputMeans = !deployment || hasOutputTokens(kinds);
  const reset = () => {
    setGroup("");
    fields.reset();
    setSkipCheck(false);
    setAdded(null);
    add.reset();
  };
  const pick = (name: string) => {
    setGroup(name);
    const d = groups.get(name);
    if (!d) return;
    // The gateway's view of the deployment: its provider and limits, as LiteLLM knows them.
    fields.setProvider(d.provider ?? "");
    fields.setContextWindow(d.maxInputTokens ? String(d.maxInputTokens) : "");
    fields.setMaxOutput(d.maxOutputTokens ? String(d.maxOutputTokens) : "");
  };
  const add = useMutation({
    mutationFn: (body: Record<string, unknown>) => api<{ model: CatalogRow }>("/api/v1/models", { body }),
    onSuccess: ({ model }) => {
      qc.invalidateQueries({ queryKey: ["models"] });
      setAdded(model);
    },
  });
  const errors = fieldErrors(add.error);
  const unreachableAnswer = add.error instanceof ApiError && add.error.code === "unavailable";
  const contextTokens = count(contextWindow);
  const output = outputMeans ? count(maxOutput) : null;
  const problems = {
    group: group.trim() ? null : "choose a model group",
    contextWindow: contextTokens ? null : "a whole number of tokens",
    maxOutput: maxOutputProblem(outputMeans, output, contextTokens),
  };
  const ready =
    !problems.group &&
    !problems.contextWindow &&
    !problems.maxOutput &&
    provider.trim() !== "" &&
    (reachable || skipCheck);

  return (
    <Dialog
      open={open}
      onOpenChange={(next) => {
        if (!next) reset();
        onOpenChange(next);
      }}
    >
      <DialogContent className="max-h-[92vh] overflow-y-auto sm:max-w-xl">
        {added ? (
          <div className="grid gap-4" data-testid="model-added">
            <DialogHeader>
              <DialogTitle>{added.publicName} is in the catalog</DialogTitle>
              <DialogDescription>
                Apps call it as <code className="font-mono">model: "{added.publicName}"</code>. Until it has a
                price, the gateway refuses every call to it: set what it sells for in the price book.
              </DialogDescription>
            </DialogHeader>
            <DialogFooter>
              <Button variant="outline" onClick={() => onOpenChange(false)}>
                Done
              </Button>
              <Button asChild>
                <Link href={`/admin/prices?model=${added.id}`}>Set its price</Link>
              </Button>
            </DialogFooter>
          </div>
        ) : (
          <form
            className="grid gap-4"
            onSubmit={(e) => {
              e.preventDefault();
              if (!ready) return;
              add.mutate({
                publicName: group.trim(),
                litellmModelGroup: group.trim(),
                provider: provider.trim(),
                description: description.trim(),
                contextWindow: contextTokens,
                ...(outputMeans ? { maxOutputTokens: output } : {}),
                enabled,
                ...(skipCheck ? { skipGatewayCheck: true } : {}),
              });
            }}
          >
            <DialogHeader>
              <DialogTitle>Add a model</DialogTitle>
              <DialogDescription>
                Sell a model group the LiteLLM gateway serves. Apps call it by the group's name.
              </DialogDescription>
            </DialogHeader>
            <FormError
              message={
                add.error && !Object.keys(errors).length && !unreachableAnswer ? add.error.message : null
              }
            />
            {!reachable || unreachableAnswer ? (
              <div
                role="alert"
                data-testid="gateway-unreachable"
                className="grid gap-2 rounded-md border border-warning/60 bg-warning/10 px-3 py-2 text-sm"
              >
                <p>
                  The gateway cannot be reached
                  {live?.error ? ` (${live.error})` : ""}, so Tollgate cannot check that it serves the group
                  you type. A model the gateway does not serve fails every call.
                </p>
                <label className="flex items-center gap-2">
                  <input
                    type="checkbox"
                    checked={skipCheck}
                    onChange={(e) => setSkipCheck(e.target.checked)}
                  />
                  Save without checking the gateway
                </label>
              </div>
            ) : null}
            <Field
              id="model-group"
              label="LiteLLM model group"
              error={errors.litellmModelGroup ?? errors.publicName}
              hint={
                reachable
                  ? "The groups the gateway serves now (litellm/config.yaml); those already in the catalog are greyed out."
                  : "As named in the gateway's litellm/config.yaml."
              }
            >
              {reachable ? (
                <select
                  id="model-group"
                  className={selectClass}
                  value={group}
                  onChange={(e) => pick(e.target.value)}
                >
                  <option value="">Choose…</option>
                  {[...groups.keys()].sort().map((name) => (
                    <option key={name} value={name} disabled={listed.has(name)}>
                      {name}
                      {listed.has(name) ? " (in the catalog)" : ""}
                    </option>
                  ))}
                </select>
              ) : (
                <Input id="model-group" value={group} onChange={(e) => setGroup(e.target.value)} />
              )}
            </Field>
            {deployment ? (
              <div className="grid gap-1 text-sm" data-testid="model-group-info">
                <span className="text-muted-foreground text-xs">At the gateway</span>
                <span className="break-all font-mono text-xs">{deployment.upstreamModel}</span>
                <span className="flex flex-wrap items-center gap-2 text-xs">
                  Serves {kinds.length ? <KindBadges kinds={kinds} /> : "no kind Tollgate sells"}
                  {deployment.mode ? (
                    <span className="text-muted-foreground">(mode {deployment.mode})</span>
                  ) : null}
                </span>
              </div>
            ) : null}
            <ModelFields
              idPrefix="model"
              fields={fields}
              errors={errors}
              contextError={contextWindow ? problems.contextWindow : null}
              outputMeans={outputMeans}
              outputError={maxOutput ? problems.maxOutput : null}
              enabledLabel="Enabled (callable once it has a price)"
            />
            <DialogFooter>
              <Button type="submit" disabled={!ready || add.isPending}>
                Add model
              </Button>
            </DialogFooter>
          </form>
        )}
      </DialogContent>
    </Dialog>
  );
}

/**
 * Edits a model: what developers read and the limits reservations are sized by. The name and its group are fixed
 * (keys, plans and past calls name it); a model without output tokens has no max output to set.
 */
export function EditModelDialog({
  model,
  mode,
  onOpenChange,
}: {
  model: CatalogRow | null;
  /** The gateway's mode for the model's group, for a model not priced yet (its kinds unknown). */
  mode: string | null | undefined;
  onOpenChange: (open: boolean) => void;
}) {
  return (
    <Dialog open={model !== null} onOpenChange={onOpenChange}>
      <DialogContent className="max-h-[92vh] overflow-y-auto sm:max-w-xl">
        {model ? (
          <EditForm key={model.id} model={model} mode={mode} onDone={() => onOpenChange(false)} />
        ) : null}
      </DialogContent>
    </Dialog>
  );
}

function EditForm({
  model,
  mode,
  onDone,
}: {
  model: CatalogRow;
  mode: string | null | undefined;
  onDone: () => void;
}) {
  const qc = useQueryClient();
  const fields = useModelFields({
    provider: model.provider,
    contextWindow: String(model.contextWindow),
    maxOutput: String(model.maxOutputTokens),
    description: model.description,
    enabled: model.enabled,
  });
  const { provider, contextWindow, maxOutput, description, enabled } = fields;
  const [free, setFree] = useState(model.free);
  const kinds = model.kinds.length ? model.kinds : kindsOfMode(mode);
  const outputMeans = hasOutputTokens(kinds);
  const save = useMutation({
    mutationFn: (body: Record<string, unknown>) =>
      api<{ model: CatalogRow }>(`/api/v1/models/${model.id}`, { method: "PATCH", body }),
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: ["models"] });
      onDone();
    },
  });
  const errors = fieldErrors(save.error);
  const contextTokens = count(contextWindow);
  const output = count(maxOutput);
  const outputProblem = maxOutputProblem(outputMeans, output, contextTokens);
  const ready = contextTokens !== null && !outputProblem && provider.trim() !== "";
  return (
    <form
      className="grid gap-4"
      onSubmit={(e) => {
        e.preventDefault();
        if (!ready || contextTokens === null) return;
        const body: Record<string, unknown> = {};
        if (provider.trim() !== model.provider) body.provider = provider.trim();
        if (description.trim() !== model.description) body.description = description.trim();
        if (contextTokens !== model.contextWindow) body.contextWindow = contextTokens;
        // Without output tokens the window is the only bound: the max output follows it.
        const nextOutput = outputMeans ? output : contextTokens;
        if (nextOutput !== model.maxOutputTokens) body.maxOutputTokens = nextOutput;
        if (enabled !== model.enabled) body.enabled = enabled;
        if (free !== model.free) body.free = free;
        if (Object.keys(body).length === 0) return onDone();
        save.mutate(body);
      }}
    >
      <DialogHeader>
        <DialogTitle>Edit {model.publicName}</DialogTitle>
        <DialogDescription>
          LiteLLM model group <code className="font-mono">{model.litellmModelGroup}</code>; the name apps send
          is fixed once the model exists.
        </DialogDescription>
      </DialogHeader>
      <FormError message={save.error && !Object.keys(errors).length ? save.error.message : null} />
      <div className="flex flex-wrap items-center gap-2 text-sm">
        <span className="text-muted-foreground">Serves</span>
        {kinds.length ? <KindBadges kinds={kinds} /> : <span>nothing yet</span>}
        {model.kinds.length ? null : (
          <span className="text-muted-foreground text-xs">(by the gateway's mode; no price yet)</span>
        )}
      </div>
      <ModelFields
        idPrefix="edit"
        fields={fields}
        errors={errors}
        contextError={contextTokens ? null : "a whole number of tokens"}
        outputMeans={outputMeans}
        outputError={outputProblem}
        enabledLabel="Enabled (a disabled model is refused at the gateway for every key)"
      />
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" checked={free} onChange={(e) => setFree(e.target.checked)} />
        Free on purpose (served on every route, even where its price charges nothing)
      </label>
      <DialogFooter>
        <Button type="submit" disabled={!ready || save.isPending}>
          Save
        </Button>
      </DialogFooter>
    </form>
  );
}
