import { type ClassValue, clsx } from "clsx";
import { twMerge } from "tailwind-merge";

export function cn(...inputs: ClassValue[]) {
  return twMerge(clsx(inputs));
}

/** An ISO timestamp as "YYYY-MM-DD HH:MM:SS" in UTC (as stored): for detail views that need the seconds. */
export function utcTime(iso: string): string {
  return iso.replace("T", " ").slice(0, 19);
}

/**
 * The one way the console shows an instant: "2026-12-04 19:11 UTC" (UTC, as days and budgets are counted);
 * <UtcTime> puts the exact ISO instant in its title. Accepts an ISO string or a Date.
 */
export function formatUtc(at: string | Date): string {
  const date = typeof at === "string" ? new Date(at) : at;
  if (Number.isNaN(date.getTime())) return String(at);
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** A UTC calendar day as the console shows it: "2026-12-04". */
export function formatUtcDay(at: string | Date): string {
  const date = typeof at === "string" ? new Date(at) : at;
  if (Number.isNaN(date.getTime())) return String(at);
  return date.toISOString().slice(0, 10);
}
