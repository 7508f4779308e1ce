// Reading → InfluxDB point (line protocol, millisecond precision). The schema, documented in the
// README: measurement = station kind; tags station, district (former district), ward; a float
// field per parameter; `seq` integer; `qc` string naming flagged parameters ("pm25:spike").
import type { Reading } from '../../contracts/reading.ts';
import type { Registry } from '../../contracts/stations.ts';

/** Escapes a tag key or value: commas, equals signs and spaces (line protocol reference). */
export function escapeTag(s: string): string {
  return s.replace(/[,= \\]/g, (c) => `\\${c}`).replace(/\n/g, '\\n');
}

function escapeFieldString(s: string): string {
  return s.replace(/["\\]/g, (c) => `\\${c}`);
}

export function createLineEncoder(registry: Registry): (r: Reading) => string {
  const tagCache = new Map<string, string>();
  const tagsOf = (stationId: string): string => {
    let tags = tagCache.get(stationId);
    if (tags === undefined) {
      const s = registry.get(stationId);
      tags = `station=${escapeTag(stationId)}`;
      if (s) tags += `,district=${escapeTag(s.formerDistrict)},ward=${escapeTag(s.ward)}`;
      tagCache.set(stationId, tags);
    }
    return tags;
  };
  return (r) => {
    let fields = '';
    for (const name in r.values) fields += `${fields ? ',' : ''}${name}=${r.values[name]}`;
    if (r.seq !== undefined) fields += `,seq=${r.seq}i`;
    if (r.quality) {
      const qc = Object.entries(r.quality)
        .map(([p, f]) => `${p}:${f}`)
        .join(',');
      fields += `,qc="${escapeFieldString(qc)}"`;
    }
    return `${r.kind},${tagsOf(r.stationId)} ${fields} ${r.ts}`;
  };
}

/**
 * The station and time of stored points (the inverse of the encoder, for consumers that only get
 * the lines the writer stored: the rollups). Lines without a station tag are skipped.
 */
export function readingKeysOfLines(lines: readonly string[]): { stationId: string; ts: number }[] {
  const out: { stationId: string; ts: number }[] = [];
  for (const line of lines) {
    const at = line.indexOf(',station=');
    if (at < 0) continue;
    let end = at + 9;
    while (end < line.length && line[end] !== ',' && line[end] !== ' ') end += line[end] === '\\' ? 2 : 1;
    const ts = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(ts)) out.push({ stationId: line.slice(at + 9, end).replace(/\\(.)/g, '$1'), ts });
  }
  return out;
}
