/** Whether something accepts TCP connections at host:port (within a second). */
export function reachable(host: string, port: number): Promise<boolean>;

/** The browser the tests drive: Debian's chromium-headless-shell, or CHROMIUM_PATH. */
export const BROWSER_PATH: string;
