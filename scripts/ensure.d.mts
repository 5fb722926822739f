/** Whether something accepts TCP connections at host:port (within a second). */
export function reachable(host: string, port: number): Promise<boolean>;
