import "server-only";
import { PDFDocument, type PDFFont, type PDFPage, rgb, StandardFonts } from "pdf-lib";
import { decimalUsd, formatMicros } from "@/lib/billing/money";
import { csvField } from "@/lib/csv";
import { monthName } from "./compute";
import { CREDIT_METHOD_LABEL, type OperatorSettings, type Receipt, type Statement } from "./schemas";

// A statement as CSV and PDF, a receipt as PDF: the customer's documents, so exact amounts (to the micro-dollar) and
// never provider cost. A closed statement's documents are made from its snapshot only, dated at its closing, so
// they are the same bytes every time.

const day = (at: Date) => at.toISOString().slice(0, 10);

/** Sections in order; each row: section, date, description, detail, calls, amount (USD, exact), amount (µ$). */
export function statementCsv(s: Statement): string {
  const rows: string[][] = [
    ["section", "date", "description", "detail", "calls", "amount_usd", "amount_micros"],
  ];
  const add = (
    section: string,
    at: string,
    description: string,
    detail: string,
    calls: string,
    micros: bigint,
  ) => rows.push([section, at, description, detail, calls, decimalUsd(micros), micros.toString()]);
  add("opening_balance", day(s.periodStart), "Opening balance", "", "", s.openingMicros);
  for (const c of s.credits)
    add("credit", day(c.at), c.description, CREDIT_METHOD_LABEL[c.method], "", c.amountMicros);
  for (const g of s.chargesByModel) add("charges_by_model", "", g.label, "", String(g.calls), g.amountMicros);
  for (const g of s.chargesByKey) add("charges_by_key", "", g.label, "", String(g.calls), g.amountMicros);
  if (s.holderKind === "organization") {
    for (const g of s.chargesByMember)
      add("charges_by_member", "", g.label, "", String(g.calls), g.amountMicros);
  }
  for (const f of s.seatFees)
    add("seat_fee", day(f.at), `Seat: ${f.member}`, f.seatMonth, "", f.amountMicros);
  for (const a of s.adjustments) {
    add(
      "adjustment",
      day(a.at),
      a.description,
      a.originalMonth ?? a.kind,
      a.calls ? String(a.calls) : "",
      a.amountMicros,
    );
  }
  add(
    "closing_balance",
    day(new Date(s.periodEnd.getTime() - 1)),
    "Closing balance",
    "",
    "",
    s.closingMicros,
  );
  const head = [
    `# ${s.number ?? "Open statement (not final)"}`,
    `# ${s.holder}, ${monthName(s.month)} (UTC)`,
  ];
  return `${head.join("\n")}\n${rows.map((r) => r.map(csvField).join(",")).join("\n")}\n`;
}

export const statementFileName = (s: Statement, ext: "csv" | "pdf") =>
  `statement-${s.month}${s.number ? `-${s.number}` : "-open"}.${ext}`;

/** Helvetica speaks WinAnsi only: anything else is replaced, never an exception while printing. */
const printable = (text: string) =>
  text
    .replace(/[–—]/g, "-")
    .replace(/…/g, "...")
    .replace(/[^\x20-\x7e\xa0-\xff]/g, "?");

class Writer {
  page: PDFPage;
  y: number;
  constructor(
    private doc: PDFDocument,
    private font: PDFFont,
    private bold: PDFFont,
  ) {
    this.page = doc.addPage([595.28, 841.89]); // A4
    this.y = 800;
  }
  private room(height: number) {
    if (this.y - height < 60) {
      this.page = this.doc.addPage([595.28, 841.89]);
      this.y = 800;
    }
  }
  text(text: string, { size = 10, bold = false, x = 50, gap = 4 } = {}) {
    this.room(size + gap);
    this.page.drawText(printable(text), {
      x,
      y: this.y,
      size,
      font: bold ? this.bold : this.font,
      color: rgb(0, 0, 0),
    });
    this.y -= size + gap;
  }
  /** A row: a label on the left, an amount right-aligned. */
  row(label: string, amount: string, { bold = false, detail = "" } = {}) {
    this.room(14);
    const font = bold ? this.bold : this.font;
    // A label never runs into the detail or amount column: cut to fit, with an ellipsis.
    const room = detail ? 270 : 400;
    let text = printable(label);
    if (font.widthOfTextAtSize(text, 10) > room) {
      while (text.length > 1 && font.widthOfTextAtSize(`${text}...`, 10) > room) text = text.slice(0, -1);
      text = `${text}...`;
    }
    this.page.drawText(text, { x: 50, y: this.y, size: 10, font });
    if (detail) this.page.drawText(printable(detail), { x: 330, y: this.y, size: 9, font: this.font });
    const width = font.widthOfTextAtSize(amount, 10);
    this.page.drawText(amount, { x: 545 - width, y: this.y, size: 10, font });
    this.y -= 14;
  }
  space(h = 8) {
    this.y -= h;
  }
}

function operatorHeader(w: Writer, operator: OperatorSettings) {
  w.text(operator.legalName || "Tollgate", { size: 14, bold: true });
  for (const line of operator.address.split("\n").filter(Boolean)) w.text(line, { size: 9, gap: 2 });
  if (operator.taxId) w.text(`Tax id: ${operator.taxId}`, { size: 9, gap: 2 });
  if (operator.contactEmail) w.text(operator.contactEmail, { size: 9, gap: 2 });
  w.space(12);
}

function footer(w: Writer, operator: OperatorSettings) {
  if (!operator.footer) return;
  w.space(16);
  for (const line of operator.footer.split("\n")) w.text(line, { size: 8, gap: 2 });
}

async function newDocument(title: string, at: Date) {
  const doc = await PDFDocument.create();
  doc.setTitle(printable(title));
  doc.setProducer("Tollgate");
  doc.setCreator("Tollgate");
  doc.setCreationDate(at);
  doc.setModificationDate(at);
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const bold = await doc.embedFont(StandardFonts.HelveticaBold);
  return { doc, writer: new Writer(doc, font, bold) };
}

/** The statement as a PDF (A4, built-in Helvetica, no fonts to load). */
export async function statementPdf(s: Statement, operator: OperatorSettings, now: Date): Promise<Uint8Array> {
  const title = `Statement ${s.number ?? "(open, not final)"} - ${s.holder} - ${monthName(s.month)}`;
  const { doc, writer: w } = await newDocument(title, s.closedAt ?? now);
  operatorHeader(w, operator);
  w.text(s.number ? `Statement ${s.number}` : "Statement - open, not final", { size: 16, bold: true });
  w.text(`${s.holderKind === "organization" ? "Organization" : "Account"}: ${s.holder}`);
  w.text(
    `Period: ${monthName(s.month)} (${day(s.periodStart)} to ${day(new Date(s.periodEnd.getTime() - 1))}, UTC)`,
  );
  w.text(
    s.closedAt
      ? `Closed: ${s.closedAt.toISOString().replace("T", " ").slice(0, 19)} UTC`
      : "Open: amounts change until the month is closed.",
  );
  w.space(10);
  w.row("Opening balance", formatMicros(s.openingMicros), { bold: true });
  w.space(6);
  w.text("Credits", { bold: true, size: 11 });
  if (!s.credits.length) w.text("None", { size: 9 });
  for (const c of s.credits) {
    w.row(`${day(c.at)}  ${CREDIT_METHOD_LABEL[c.method]}`, formatMicros(c.amountMicros, { sign: true }), {
      detail: c.receipt ?? "",
    });
  }
  w.row("Total credits", formatMicros(s.creditsMicros, { sign: true }), { bold: true });
  w.space(6);
  w.text(`Charges for calls (${s.calls} calls), by model`, { bold: true, size: 11 });
  if (!s.chargesByModel.length) w.text("None", { size: 9 });
  for (const g of s.chargesByModel)
    w.row(g.label, formatMicros(g.amountMicros), { detail: `${g.calls} calls` });
  w.text("By key", { bold: true, size: 10 });
  for (const g of s.chargesByKey)
    w.row(g.label, formatMicros(g.amountMicros), { detail: `${g.calls} calls` });
  if (s.holderKind === "organization") {
    w.text("By member", { bold: true, size: 10 });
    for (const g of s.chargesByMember)
      w.row(g.label, formatMicros(g.amountMicros), { detail: `${g.calls} calls` });
  }
  w.row("Total charges", formatMicros(s.chargesMicros), { bold: true });
  if (s.seatFees.length) {
    w.space(6);
    w.text("Seat fees", { bold: true, size: 11 });
    for (const f of s.seatFees)
      w.row(`${day(f.at)}  ${f.member}`, formatMicros(f.amountMicros), { detail: f.seatMonth });
    w.row("Total seat fees", formatMicros(s.seatFeesMicros), { bold: true });
  }
  w.space(6);
  w.text("Adjustments", { bold: true, size: 11 });
  if (!s.adjustments.length) w.text("None", { size: 9 });
  for (const a of s.adjustments) {
    w.row(`${day(a.at)}  ${a.description}`, formatMicros(a.amountMicros, { sign: true }), {
      detail: a.originalMonth ? `for ${a.originalMonth}` : "",
    });
  }
  w.row("Total adjustments", formatMicros(s.adjustmentsMicros, { sign: true }), { bold: true });
  w.space(10);
  w.row("Closing balance", formatMicros(s.closingMicros), { bold: true });
  footer(w, operator);
  return doc.save();
}

/** A receipt as a PDF: the operator, the account credited, the amount, the date, the method and the number. */
export async function receiptPdf(r: Receipt): Promise<Uint8Array> {
  const { doc, writer: w } = await newDocument(`Receipt ${r.label}`, r.at);
  operatorHeader(w, r.operator);
  w.text(`Receipt ${r.label}`, { size: 16, bold: true });
  w.text(`Date: ${r.at.toISOString().replace("T", " ").slice(0, 19)} UTC`);
  w.text(`Received from: ${r.holder}${r.holderKind === "organization" ? " (organization)" : ""}`);
  w.text(`Method: ${CREDIT_METHOD_LABEL[r.method]}`);
  w.text(`Description: ${r.description}`);
  if (r.stripeReceiptUrl) w.text(`Card receipt: ${r.stripeReceiptUrl}`, { size: 8 });
  w.space(10);
  w.row("Amount credited", formatMicros(r.amountMicros), { bold: true });
  footer(w, r.operator);
  return doc.save();
}
