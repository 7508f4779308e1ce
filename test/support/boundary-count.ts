// Counts readings at the database boundary: how many times each (station, seq) reached InfluxDB in
// the writes the fault proxy saw it confirm, and with which lines. InfluxDB keeps one point per
// measurement + tags + timestamp, so what is stored cannot show a reading written twice; this can.
import type { StoredWrite } from './fault-proxy.ts';

export interface BoundaryCount {
  /** Writes that carried the reading, confirmed by InfluxDB. */
  delivered: number;
  /** Of those, writes whose answer never reached the writer. */
  answerLost: number;
  /** The distinct lines that carried it (one when every resend was byte-identical). */
  readonly lines: Set<string>;
}

/** `station#seq` of a point line (undefined for lines without both, e.g. a flag revision). */
export function readingKeyOfLine(line: string): string | undefined {
  const station = /,station=((?:\\.|[^,\s\\])+)/.exec(line)?.[1];
  const seq = /[ ,]seq=(\d+)i[ ,]/.exec(line)?.[1];
  return station === undefined || seq === undefined ? undefined : `${station.replace(/\\(.)/g, '$1')}#${seq}`;
}

export function countAtBoundary(writes: readonly StoredWrite[]): Map<string, BoundaryCount> {
  const counts = new Map<string, BoundaryCount>();
  for (const w of writes) {
    for (const line of w.lines) {
      const key = readingKeyOfLine(line);
      if (key === undefined) continue;
      let c = counts.get(key);
      if (!c) counts.set(key, (c = { delivered: 0, answerLost: 0, lines: new Set() }));
      c.delivered++;
      if (!w.answered) c.answerLost++;
      c.lines.add(line);
    }
  }
  return counts;
}
