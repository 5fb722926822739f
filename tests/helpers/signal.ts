/**
 * A promise and the function that settles it, for a test that hands a moment from one task to another: "the lock is
 * held" (fired inside the transaction that took it, awaited before the step that must meet it), "release it now".
 */
export function signal(): { promise: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const promise = new Promise<void>((resolve) => {
    fire = resolve;
  });
  return { promise, fire };
}
