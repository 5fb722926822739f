// An image's filesystem without Docker: the files a Dockerfile's COPY lines put in it, and how its CMD runs. Tests
// start the gateway from that directory, so a file the image forgets is a file the test's gateway lacks.
import { cpSync, mkdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

export interface AssembledImage {
  /** Where the image's `/` is on this machine. */
  root: string;
  /** WORKDIR, on this machine. */
  workdir: string;
  /** ENV, with absolute paths (and path lists) moved under root. */
  env: Record<string, string>;
  /** CMD's exec form, its absolute paths moved under root. */
  cmd: string[];
}

interface Instruction {
  name: string;
  args: string;
}

/** The instructions, one per logical line (continuations joined, comments dropped). */
function instructions(text: string): Instruction[] {
  const joined = text
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("#"))
    .join("\n")
    .replace(/\\\n/g, " ");
  return joined
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [name, ...rest] = line.split(/\s+/);
      return { name: name!.toUpperCase(), args: rest.join(" ") };
    });
}

/**
 * The build command the header documents (`docker build … --build-context name=dir … context`), read from the
 * Dockerfile's comments: the build context and the named contexts, relative to the repository's root.
 */
function buildContexts(text: string) {
  const line = text.split("\n").find((l) => /^#.*\bdocker build\b/.test(l));
  if (!line) throw new Error("the Dockerfile's header shows no `docker build` line");
  const words = line.replace(/^#\s*/, "").replace(/\(.*$/, "").trim().split(/\s+/).slice(2);
  const named: Record<string, string> = {};
  const positional: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (word === "--build-context") {
      const [name, dir] = words[++i]!.split("=");
      named[name!] = dir!;
    } else if (word.startsWith("-")) {
      if (!word.includes("=")) i++; // a flag's value (-t name, -f file)
    } else positional.push(word);
  }
  if (positional.length !== 1) throw new Error(`cannot tell the build context from: ${line}`);
  return { context: positional[0]!, named };
}

/** .dockerignore's patterns (paths relative to the context, `*` within a name, `**` across them). */
function ignoreMatcher(context: string) {
  let patterns: string[] = [];
  try {
    patterns = readFileSync(path.join(context, ".dockerignore"), "utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
  } catch {}
  const regexes = patterns.map((p) => {
    const source = p
      .replace(/^\/+|\/+$/g, "")
      .split("/")
      .map((part) =>
        part === "**"
          ? ".*"
          : part
              .replace(/[.+^${}()|[\]\\]/g, "\\$&")
              .replace(/\*/g, "[^/]*")
              .replace(/\?/g, "[^/]"),
      )
      .join("/");
    return new RegExp(`^${source}(/.*)?$`);
  });
  return (relative: string) => regexes.some((r) => r.test(relative));
}

/** Splits `a b "c d"` as a shell would for ENV's words. */
const words = (args: string) =>
  [...args.matchAll(/(?:[^\s"']+|"[^"]*"|'[^']*')+/g)].map((m) => m[0]!.replace(/["']/g, ""));

/**
 * Builds the image's files under `root` from `dockerfile` (COPY, with --from a named build context, honoring the
 * context's .dockerignore; WORKDIR, ENV, CMD). RUN lines are not run: the caller brings the installed software
 * (the repository's venv stands for the image's `pip install`). Python bytecode caches are not copied.
 */
export function assembleImage(repoRoot: string, dockerfile: string, root: string): AssembledImage {
  const text = readFileSync(dockerfile, "utf8");
  const { context, named } = buildContexts(text);
  const at = (imagePath: string) => path.join(root, imagePath);
  const rooted = (value: string) =>
    value.split(":").every((part) => part.startsWith("/"))
      ? value
          .split(":")
          .map((part) => at(part))
          .join(":")
      : value;
  let workdir = "/";
  const env: Record<string, string> = {};
  let cmd: string[] | undefined;
  for (const { name, args } of instructions(text)) {
    if (name === "WORKDIR") {
      workdir = path.posix.resolve(workdir, args);
      mkdirSync(at(workdir), { recursive: true });
    } else if (name === "ENV") {
      const parts = words(args);
      if (parts.length === 2 && !parts[0]!.includes("=")) env[parts[0]!] = parts[1]!;
      else
        for (const part of parts) {
          const eq = part.indexOf("=");
          env[part.slice(0, eq)] = part.slice(eq + 1);
        }
    } else if (name === "COPY" || name === "ADD") {
      const parts = args.split(/\s+/);
      const from = parts.find((p) => p.startsWith("--from="))?.slice("--from=".length);
      const paths = parts.filter((p) => !p.startsWith("--"));
      const dest = paths.pop()!;
      const source = from === undefined ? context : named[from];
      if (source === undefined) throw new Error(`COPY --from=${from}: no such build context or stage`);
      const sourceDir = path.join(repoRoot, source);
      const ignored = from === undefined ? ignoreMatcher(sourceDir) : () => false;
      const destPath = path.posix.resolve(workdir, dest);
      const intoDir = dest.endsWith("/") || paths.length > 1;
      for (const src of paths) {
        if (ignored(path.posix.normalize(src))) continue;
        const from = path.join(sourceDir, src);
        // A directory's contents go to dest; a file goes into dest/ or becomes dest.
        const to =
          statSync(from).isDirectory() || !intoDir ? at(destPath) : at(path.posix.join(destPath, src));
        cpSync(from, to, {
          recursive: true,
          filter: (file) => {
            const relative = path.relative(sourceDir, file).split(path.sep).join("/");
            return !ignored(relative) && !/(^|\/)__pycache__$|\.pyc$/.test(relative);
          },
        });
      }
    } else if (name === "CMD") {
      cmd = (JSON.parse(args) as string[]).map((arg) => (arg.startsWith("/") ? at(arg) : arg));
    }
  }
  if (!cmd) throw new Error("the Dockerfile has no CMD in exec form");
  for (const [name, value] of Object.entries(env)) env[name] = rooted(value);
  return { root, workdir: at(workdir), env, cmd };
}
