import { describe, expect, it } from "vitest";
import { ROWS_PER_BATCH, fileLine, formatOf, splitFile } from "@/lib/importFile";

describe("splitFile", () => {
  it("keeps the CSV header in every batch and quoted newlines inside their row", () => {
    const rows = Array.from({ length: ROWS_PER_BATCH + 2 }, (_, i) => (i === 1 ? `S${i},"two\nlines"` : `S${i},body`));
    const text = `subject,body\n${rows.join("\n")}\n`;
    const batches = splitFile("csv", text);
    expect(batches.map((b) => b.rows)).toEqual([ROWS_PER_BATCH, 2]);
    for (const b of batches) expect(b.text.startsWith("subject,body\n")).toBe(true);
    expect(batches[0].text).toContain('S1,"two\nlines"\nS2,body');
    // Row S2 is on line 5 of the file and of the first request (the header, S0, and S1's
    // two lines come first); rows of later requests move by the rows before them.
    expect(fileLine(batches[0], 5)).toBe(5);
    // The second batch starts with the row after the first 500.
    expect(batches[1].text.split("\n")[1]).toBe(`S${ROWS_PER_BATCH},body`);
    expect(fileLine(batches[1], 2)).toBe(ROWS_PER_BATCH + 3);
  });

  it("splits JSON lines by rows, counting blank lines as the file does", () => {
    const text = ['{"subject":"a"}', "", '{"subject":"b"}'].join("\n");
    const [b] = splitFile("jsonl", text);
    expect(b.rows).toBe(2);
    expect(fileLine(b, 3)).toBe(3);
  });

  it("knows the formats by file name", () => {
    expect(formatOf("history.CSV")).toBe("csv");
    expect(formatOf("x.ndjson")).toBe("jsonl");
    expect(formatOf("x.xlsx")).toBeNull();
  });
});
