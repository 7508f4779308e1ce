// Reading → InfluxDB point (line protocol, millisecond precision). The schema, documented in the
// README: measurement = station kind; tags station, district (former district), ward; a float
// field per parameter (`{p}_unusable` when the value must not be used: station calibrating or
// faulty, or QC fail); `{p}_qc` QARTOD flag when not 1; `status` code when not measuring; `seq`
// integer; `qc` string naming the QC tests not passed ("pm25:spike=3").
import { flagField, formatQcTests, isUsable, QC_FIELD, STATUS_FIELD, statusToField, unusableField, type ParameterQuality } from '../../contracts/quality.ts';
import type { Reading } from '../../contracts/reading.ts';
import type { Registry } from '../../contracts/stations.ts';

/** Escapes a tag key or value: commas, equals signs and spaces (line protocol reference). */
export function escapeTag(s: string): string {
  return s.replace(/[,= \\]/g, (c) => `\\${c}`).replace(/\n/g, '\\n');
}

function escapeFieldString(s: string): string {
  return s.replace(/["\\]/g, (c) => `\\${c}`);
}

export interface LineEncoder {
  (r: Reading): string;
  revision(r: Pick<Reading, 'stationId' | 'kind' | 'ts'> & { quality: Readonly<Record<string, ParameterQuality>> }): string;
}

export function createLineEncoder(registry: Registry): LineEncoder {
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
  const encode = (r: Reading): string => {
    let fields = '';
    for (const name in r.values) fields += `${fields ? ',' : ''}${isUsable(r, name) ? name : unusableField(name)}=${r.values[name]}`;
    if (r.seq !== undefined) fields += `,seq=${r.seq}i`;
    if (r.status) fields += `,${STATUS_FIELD}=${statusToField(r.status)}i`;
    if (r.quality) fields += qualityFields(r.quality);
    return `${r.kind},${tagsOf(r.stationId)} ${fields} ${r.ts}`;
  };
  /** The same point with only its flag fields: written after it, it overwrites them (a settled spike). */
  const encodeRevision = (r: Pick<Reading, 'stationId' | 'kind' | 'ts'> & { quality: Readonly<Record<string, ParameterQuality>> }): string =>
    `${r.kind},${tagsOf(r.stationId)} ${qualityFields(r.quality).slice(1)} ${r.ts}`;
  return Object.assign(encode, { revision: encodeRevision });
}

/** `,{p}_qc=Ni` per parameter not passed and `,qc="…"` when a test was not passed. */
function qualityFields(quality: Readonly<Record<string, ParameterQuality>>): string {
  let fields = '';
  for (const p in quality) fields += `,${flagField(p)}=${quality[p]!.flag}i`;
  const qc = formatQcTests(quality);
  if (qc) fields += `,${QC_FIELD}="${escapeFieldString(qc)}"`;
  return fields;
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
