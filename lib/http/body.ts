import { z } from "zod";
import { AppError } from "./errors";
import { validationError } from "./respond";

export const DEFAULT_BODY_LIMIT = 64 * 1024;

/** Reads the body as text, refusing more than limit bytes whatever Content-Length claims. */
export async function readText(req: Request, limit = DEFAULT_BODY_LIMIT): Promise<string> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > limit) throw tooLarge(limit);
  if (!req.body) return "";
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function tooLarge(limit: number) {
  return new AppError("payload_too_large", `Request body is larger than ${limit} bytes.`);
}

/** Parses a JSON body with a zod schema: 415 for other media types, 400 for bad JSON, 422 for bad fields. */
export async function parseJson<S extends z.ZodType>(
  req: Request,
  schema: S,
  limit = DEFAULT_BODY_LIMIT,
): Promise<z.output<S>> {
  const type = req.headers.get("content-type") ?? "";
  if (!/^application\/json\b/i.test(type)) {
    throw new AppError("unsupported_media_type", "Send the body as application/json.");
  }
  return parseJsonText(await readText(req, limit), schema);
}

/** How deeply a JSON body may nest objects and arrays: no request of ours needs more, and walks stay shallow. */
export const MAX_JSON_DEPTH = 64;

/** Why a parsed body cannot be taken as it is: nested too deep, or a string PostgreSQL text cannot store. */
export type JsonFlaw = { kind: "too_deep" } | { kind: "nul" | "lone_surrogate"; path: string };

interface Visit {
  value: unknown;
  key: string | null;
  parent: Visit | null;
  depth: number;
}

function pathOf(visit: Visit, last?: string): string {
  const parts: string[] = last === undefined ? [] : [last];
  for (let v: Visit | null = visit; v?.key != null; v = v.parent) parts.unshift(v.key);
  return parts.join(".") || "(body)";
}

function stringFlaw(text: string): "nul" | "lone_surrogate" | null {
  if (text.includes("\u0000")) return "nul";
  // A lone UTF-16 surrogate ("\ud800" in JSON) has no UTF-8 form: PostgreSQL refuses it.
  return text.isWellFormed() ? null : "lone_surrogate";
}

/**
 * The first flaw of a parsed JSON value, found with an explicit stack (never recursion, so no body can exhaust
 * the call stack): containers nested deeper than maxDepth, or a string (value or key) holding a NUL character
 * or a lone surrogate. Null when there is none.
 */
export function jsonFlaw(value: unknown, maxDepth = MAX_JSON_DEPTH): JsonFlaw | null {
  const stack: Visit[] = [{ value, key: null, parent: null, depth: 0 }];
  while (stack.length > 0) {
    const visit = stack.pop()!;
    const item = visit.value;
    if (typeof item === "string") {
      const kind = stringFlaw(item);
      if (kind) return { kind, path: pathOf(visit) };
      continue;
    }
    if (!item || typeof item !== "object") continue;
    const depth = visit.depth + 1;
    if (depth > maxDepth) return { kind: "too_deep" };
    if (Array.isArray(item)) {
      for (let i = item.length - 1; i >= 0; i--)
        stack.push({ value: item[i], key: String(i), parent: visit, depth });
      continue;
    }
    const entries = Object.entries(item);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, child] = entries[i]!;
      const kind = stringFlaw(key);
      if (kind) return { kind, path: pathOf(visit, "(key)") };
      stack.push({ value: child, key, parent: visit, depth });
    }
  }
  return null;
}

const FLAW_MESSAGES = {
  nul: "must not contain a NUL character",
  lone_surrogate: "must be valid Unicode text (a lone surrogate such as \\ud800 is not)",
} as const;

/** Refuses what no schema should see: 400 for a body nested too deep, 422 (with the field) for unstorable text. */
function refuseFlaws(data: unknown, where: string): void {
  const flaw = jsonFlaw(data);
  if (!flaw) return;
  if (flaw.kind === "too_deep") {
    throw new AppError("bad_request", `The ${where} is nested more than ${MAX_JSON_DEPTH} levels deep.`);
  }
  const message = FLAW_MESSAGES[flaw.kind];
  throw new AppError("validation_failed", `Invalid ${where}: ${flaw.path}: ${message}`, {
    issues: [{ path: flaw.path, message }],
  });
}

/** JSON text already read (e.g. after a signature check) through a schema: 400 for bad JSON, 422 for bad fields. */
export function parseJsonText<S extends z.ZodType>(text: string, schema: S): z.output<S> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new AppError("invalid_json", "The request body is not valid JSON.");
  }
  refuseFlaws(data, "request body");
  const result = schema.safeParse(data);
  if (!result.success) throw validationError(result.error);
  return result.data;
}

/** Parses URL search parameters with a zod schema (use z.coerce for numbers). */
export function parseQuery<S extends z.ZodType>(req: Request, schema: S): z.output<S> {
  const params = Object.fromEntries(new URL(req.url).searchParams);
  refuseFlaws(params, "query");
  const result = schema.safeParse(params);
  if (!result.success) throw validationError(result.error, "query");
  return result.data;
}

const uuidSchema = z.uuid();

/** A uuid path segment; anything else is a 404 (no such resource), not an error in the request. */
export function parseId(value: string | undefined, what: string): string {
  const result = uuidSchema.safeParse(value);
  if (!result.success) throw new AppError("not_found", `${what} was not found.`);
  return result.data;
}
