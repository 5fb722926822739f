export function sourceHash(root: string): string;
export function buildIsCurrent(root: string): boolean;
export function markBuilt(root: string): void;
