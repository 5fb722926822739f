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

/** The path of the first string (value or key) holding a NUL character, which PostgreSQL text cannot store. */
export function nulPath(value: unknown, path: string[] = []): string | null {
  if (typeof value === "string") return value.includes("\u0000") ? path.join(".") || "(body)" : null;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = nulPath(item, [...path, String(i)]);
      if (found) return found;
    }
  } else if (value && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      if (key.includes("\u0000")) return [...path, "(key)"].join(".");
      const found = nulPath(item, [...path, key]);
      if (found) return found;
    }
  }
  return null;
}

function refuseNul(data: unknown, where: string): void {
  const path = nulPath(data);
  if (path !== null) {
    throw new AppError("validation_failed", `Invalid ${where}: ${path}: must not contain a NUL character`, {
      issues: [{ path, message: "must not contain a NUL character" }],
    });
  }
}

/** JSON text already read (e.g. after a signature check) through a schema: 400 for bad JSON, 422 for bad fields. */
export function parseJsonText<S extends z.ZodType>(text: string, schema: S): z.output<S> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new AppError("invalid_json", "The request body is not valid JSON.");
  }
  refuseNul(data, "request body");
  const result = schema.safeParse(data);
  if (!result.success) throw validationError(result.error);
  return result.data;
}

/** Parses URL search parameters with a zod schema (use z.coerce for numbers). */
export function parseQuery<S extends z.ZodType>(req: Request, schema: S): z.output<S> {
  const params = Object.fromEntries(new URL(req.url).searchParams);
  refuseNul(params, "query");
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
