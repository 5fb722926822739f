// One CSV field, for every export a spreadsheet may open (the request log, statements).

/**
 * Quoted where it must be. A field that starts with = + - @, tab or CR would be read as a formula by spreadsheets, so it
 * gets a leading apostrophe, unless it is a whole number (an amount keeps its minus; a name such as
 * -1+HYPERLINK(...) starts like a number and is a formula).
 */
export function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) && !/^-?\d+(\.\d+)?$/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}
