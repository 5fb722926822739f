// What `npm test` and `npm run test:clock` read from each runner's report: the arguments that make vitest write one,
// and the passed / failed / skipped counts of vitest's JSON, pytest's JUnit XML and Playwright's JSON.
import { readFileSync } from "node:fs";

/** vitest's arguments for one project, printing as usual and writing its JSON report to `report`. */
export const vitestArgs = (project, report) => [
  "run",
  "--project",
  project,
  "--reporter=default",
  "--reporter=json",
  `--outputFile.json=${report}`,
];

export const vitestCount = (r) => ({
  passed: r.numPassedTests,
  failed: r.numFailedTests,
  skipped: r.numPendingTests + r.numTodoTests,
});

export const junitCount = (xml) => {
  const attr = (name) =>
    [...xml.matchAll(new RegExp(`<testsuite\\b[^>]*\\b${name}="(\\d+)"`, "g"))].reduce(
      (n, m) => n + Number(m[1]),
      0,
    );
  const failed = attr("failures") + attr("errors");
  const skipped = attr("skipped");
  return { passed: attr("tests") - failed - skipped, failed, skipped };
};

export const playwrightCount = (r) => ({
  passed: r.stats.expected + r.stats.flaky,
  failed: r.stats.unexpected,
  skipped: r.stats.skipped,
});

/** A report's counts (XML by its name, JSON otherwise), or null when the runner wrote none. */
export function readReport(file, count) {
  try {
    const text = readFileSync(file, "utf8");
    return count(file.endsWith(".xml") ? text : JSON.parse(text));
  } catch {
    return null;
  }
}
