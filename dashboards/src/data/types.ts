// Shapes the portal reads from the API: the station registry (contracts/stations.ts), latest
// readings, and the snapshot GeoJSON properties (`GET /api/snapshot/:kind`).
import type { ParameterQuality, StationStatus } from '../../../contracts/quality.ts';
import type { Station } from '../../../contracts/stations.ts';

export type { Station };
export type Kind = Station['kind'];
export type RiverGauge = Extract<Station, { kind: 'flood'; floodType: 'river' }>;

export interface Latest {
  /** ISO time of the measurement. */
  readonly ts: string;
  readonly values: Readonly<Record<string, number>>;
  /** QARTOD quality of the parameters not passed (contracts/quality.ts). */
  readonly quality?: Readonly<Record<string, ParameterQuality>>;
  /** Station status when not measuring. */
  readonly status?: StationStatus;
  /** Parameters an officer marked invalid at this time (served by /latest and the snapshot). */
  readonly excluded?: readonly string[];
}

export interface ServerAqi {
  readonly scale: string;
  readonly value: number | null;
  readonly category: string | null;
  readonly colour?: string;
  readonly dominant: string | null;
}

export interface ServerFlood {
  readonly levelM: number | null;
  readonly state: string | null;
  readonly trendCmPerH: number | null;
  readonly nextLevel: string | null;
  readonly etaMinutes: number | null;
}

/** Properties of one snapshot feature; everything past `latest` is optional (older servers). */
export type SnapshotProps = Station & {
  readonly latest: Latest | null;
  readonly ageS?: number | null;
  readonly stale?: boolean;
  readonly aqi?: ServerAqi | null;
  readonly flood?: ServerFlood | null;
  readonly rainMm1h?: number | null;
  readonly rainMm24h?: number | null;
  readonly depthCm?: number | null;
};

export interface Snapshot {
  readonly type: 'FeatureCollection';
  readonly features: readonly { readonly properties: SnapshotProps }[];
}

export interface LiveMessage {
  readonly type: 'reading';
  readonly station: string;
  readonly kind: Kind;
  readonly ts: string;
  readonly values: Record<string, number>;
  readonly quality?: Readonly<Record<string, ParameterQuality>>;
  readonly status?: StationStatus;
}

export interface Buckets {
  readonly buckets: readonly { ts: string; values: Record<string, { mean: number | null; min: number | null; max: number | null; count: number }> }[];
}
