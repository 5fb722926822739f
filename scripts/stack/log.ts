// Progress output for long CLI steps: numbered steps with timings, and prefixed child-process output.
const colours = [36, 35, 33, 32, 34, 31];
const tty = process.stdout.isTTY;
const paint = (code: number, text: string) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);

export const ui = {
  bold: (t: string) => paint(1, t),
  dim: (t: string) => paint(2, t),
  green: (t: string) => paint(32, t),
  red: (t: string) => paint(31, t),
  yellow: (t: string) => paint(33, t),
  cyan: (t: string) => paint(36, t),
};

export async function step<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  process.stdout.write(`${ui.cyan("▸")} ${label}…\n`);
  try {
    const result = await fn();
    process.stdout.write(
      `${ui.green("✓")} ${label} ${ui.dim(`(${((performance.now() - started) / 1000).toFixed(1)}s)`)}\n`,
    );
    return result;
  } catch (error) {
    process.stdout.write(`${ui.red("✗")} ${label} failed\n`);
    throw error;
  }
}

let next = 0;
export function prefixer(name: string, width = 9): (line: string) => void {
  const code = colours[next++ % colours.length]!;
  const tag = paint(code, name.padEnd(width));
  return (line) => process.stdout.write(`${tag}│ ${line}\n`);
}
