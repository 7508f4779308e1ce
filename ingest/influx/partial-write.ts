// Partial writes: InfluxDB 3.x stores the good lines of a batch and answers 400 with the refused
// ones listed (`{"error": …, "data": [{"original_line", "line_number", "error_message"}]}`, at most
// 100 — InfluxDB 3 Core OpenAPI `POST /write` 400 examples; docs/influxdb-compat.md). With that list
// the writer dead-letters exactly those lines and never sends the batch again; answers without
// one (1.x 400, 2.x 400/422) are bisected by the writer instead.

export interface RefusedLine {
  /** 1-based line number in the request body. */
  readonly lineNumber: number;
  /** The line as the server quotes it (may be absent). */
  readonly original: string | undefined;
  readonly reason: string;
}

export interface RefusedLines {
  readonly lines: readonly RefusedLine[];
  /**
   * The server said the other lines were stored: a "partial write" whose list is complete (fewer
   * than the 100 it reports at most). Otherwise the lines not listed are written again (harmless:
   * a point written twice overwrites itself).
   */
  readonly othersStored: boolean;
}

/** The `error` text of a 3.x answer whose unlisted lines were stored (InfluxDB 3 Core OpenAPI). */
export const PARTIAL_WRITE_ERROR = 'partial write of line protocol occurred';
/** 3.x lists "up to 100" refused points (InfluxDB 3 Core, "Troubleshoot issues writing data"). */
export const MAX_LISTED = 100;

/** The refused-line list of a 400 answer's JSON body, or undefined when it has none. */
export function parseRefusedLines(json: unknown): RefusedLines | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const { error, data } = json as { error?: unknown; data?: unknown };
  if (!Array.isArray(data) || data.length === 0) return undefined;
  const lines: RefusedLine[] = [];
  for (const d of data as Record<string, unknown>[]) {
    if (typeof d !== 'object' || d === null || !Number.isSafeInteger(d.line_number) || (d.line_number as number) < 1) return undefined;
    lines.push({
      lineNumber: d.line_number as number,
      original: typeof d.original_line === 'string' ? d.original_line : undefined,
      reason: typeof d.error_message === 'string' ? d.error_message : String(error ?? 'rejected'),
    });
  }
  return { lines, othersStored: error === PARTIAL_WRITE_ERROR && lines.length < MAX_LISTED };
}

/**
 * Splits a batch by the server's list: the refused lines with their reasons, and the lines still
 * to write (none when the others were stored). Undefined when the list does not fit the batch (a
 * line number out of range, or a quoted line that is not ours): the caller bisects instead.
 */
export function splitRefused(
  batch: readonly string[],
  refused: RefusedLines,
): { refused: { line: string; reason: string }[]; rest: string[] } | undefined {
  const out: { line: string; reason: string }[] = [];
  const taken = new Set<number>();
  for (const r of refused.lines) {
    const line = batch[r.lineNumber - 1];
    if (line === undefined) return undefined;
    if (r.original !== undefined && r.original !== line && !r.original.endsWith(line) && !line.startsWith(r.original)) return undefined;
    if (taken.has(r.lineNumber)) continue;
    taken.add(r.lineNumber);
    out.push({ line, reason: r.reason });
  }
  const rest = refused.othersStored ? [] : batch.filter((_, i) => !taken.has(i + 1));
  return { refused: out, rest };
}
