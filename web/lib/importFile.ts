/** Splitting a history file into import requests, and mapping their errors back to the file. */

export type ImportFormat = "csv" | "jsonl";

/** One request's worth of the file: its text, and the file line of its first row. */
export interface Batch {
  text: string;
  /** The file line (1-based) of the batch's first row. */
  firstLine: number;
  /** The line a row of the batch has in the request: 2 in a CSV batch (after its header), 1 in JSON lines. */
  requestFirstLine: number;
  rows: number;
}

export const ROWS_PER_BATCH = 500;
/** Below the API's 1 MiB per request, with room for a header. */
export const BYTES_PER_BATCH = 900 * 1024;

export function formatOf(name: string): ImportFormat | null {
  const lower = name.toLowerCase();
  if (lower.endsWith(".csv")) return "csv";
  if (lower.endsWith(".jsonl") || lower.endsWith(".ndjson")) return "jsonl";
  return null;
}

export const mediaType = (format: ImportFormat) => (format === "csv" ? "text/csv" : "application/x-ndjson");

/** CSV records as written (quoted newlines kept inside their record), each with its file line. */
function csvRecords(text: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  let start = 0;
  let line = 1;
  let startLine = 1;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (c === "\n") {
      if (!quoted) {
        out.push({ text: text.slice(start, i + 1), line: startLine });
        start = i + 1;
        startLine = line + 1;
      }
      line++;
    }
  }
  if (start < text.length) out.push({ text: text.slice(start), line: startLine });
  return out.filter((r) => r.text.trim() !== "");
}

const bytes = (s: string) => new TextEncoder().encode(s).length;

/** The file in requests of at most [`ROWS_PER_BATCH`] rows and about [`BYTES_PER_BATCH`] bytes. */
export function splitFile(format: ImportFormat, text: string): Batch[] {
  const batches: Batch[] = [];
  if (format === "csv") {
    const [header, ...records] = csvRecords(text);
    if (!header) return [];
    const head = header.text.endsWith("\n") ? header.text : `${header.text}\n`;
    let current: { text: string; line: number }[] = [];
    let size = bytes(head);
    const flush = () => {
      if (current.length === 0) return;
      batches.push({ text: head + current.map((r) => (r.text.endsWith("\n") ? r.text : `${r.text}\n`)).join(""), firstLine: current[0].line, requestFirstLine: 2, rows: current.length });
      current = [];
      size = bytes(head);
    };
    for (const r of records) {
      const b = bytes(r.text);
      if (current.length >= ROWS_PER_BATCH || (current.length > 0 && size + b > BYTES_PER_BATCH)) flush();
      current.push(r);
      size += b;
    }
    flush();
    return batches;
  }
  const lines = text.split("\n");
  let start = 0;
  while (start < lines.length) {
    let end = start;
    let rows = 0;
    let size = 0;
    while (end < lines.length && rows < ROWS_PER_BATCH && (rows === 0 || size + bytes(lines[end]) <= BYTES_PER_BATCH)) {
      if (lines[end].trim() !== "") rows++;
      size += bytes(lines[end]) + 1;
      end++;
    }
    if (rows > 0) batches.push({ text: lines.slice(start, end).join("\n"), firstLine: start + 1, requestFirstLine: 1, rows });
    start = end;
  }
  return batches;
}

/** A line of a request, as the file numbers it. */
export const fileLine = (batch: Batch, requestLine: number) => batch.firstLine + (requestLine - batch.requestFirstLine);
