// Station selection for --stations and --batch-gateways: comma lists of kinds, ids and * globs.
import type { Station } from '../contracts/stations.ts';

const KIND_WORDS = new Set(['air', 'water', 'rain', 'flood', 'street', 'river']);

const globToRegExp = (glob: string): RegExp =>
  new RegExp(`^${glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);

/** A predicate from "air,flood-longbien,street-0*"; an empty or absent list matches everything. */
export function createMatcher(list: string | undefined): (value: string) => boolean {
  const patterns = (list ?? '').split(',').map((s) => s.trim()).filter(Boolean).map(globToRegExp);
  return patterns.length === 0 ? () => true : (v) => patterns.some((p) => p.test(v));
}

function kindWords(s: Station): string[] {
  if (s.kind !== 'flood') return [s.kind];
  return ['flood', s.floodType];
}

/** Stations named by kind (air, water, rain, flood, street, river), id or id glob. */
export function selectStations(stations: readonly Station[], list: string | undefined): Station[] {
  const terms = (list ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (terms.length === 0) return [...stations];
  const kinds = new Set(terms.filter((t) => KIND_WORDS.has(t)));
  const ids = createMatcher(terms.filter((t) => !KIND_WORDS.has(t)).join(','));
  const anyIds = terms.some((t) => !KIND_WORDS.has(t));
  return stations.filter((s) => kindWords(s).some((k) => kinds.has(k)) || (anyIds && ids(s.id)));
}
