import { type ClassValue, clsx } from "clsx";
import { twMerge } from "tailwind-merge";

export function cn(...inputs: ClassValue[]) {
  return twMerge(clsx(inputs));
}

/** An ISO timestamp as the dashboard shows every time: "YYYY-MM-DD HH:MM:SS" in UTC (as stored). */
export function utcTime(iso: string): string {
  return iso.replace("T", " ").slice(0, 19);
}
