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
