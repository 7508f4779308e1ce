// Hourly VN_AQI history computed from hourly means (used when the server has no
// `/api/stations/:id/aqi`): PM via NowCast over the 12 preceding hours, gases from the hour's mean.
import { vnAqiHourly, type VnAqiBand } from '../../../contracts/standards/vn-aqi.ts';

export interface HourlyAqi {
  /** Start of the hour, epoch ms. */
  readonly ts: number;
  readonly aqi: number;
  readonly band: VnAqiBand;
  readonly dominant: string;
}

type HourMeans = Readonly<Record<string, number | undefined>>;

/** `hours`: hourly means keyed by the hour's start (epoch ms), any order, gaps allowed. */
export function hourlyVnAqi(hours: ReadonlyMap<number, HourMeans>, fromMs: number): HourlyAqi[] {
  const out: HourlyAqi[] = [];
  const keys = [...hours.keys()].filter((k) => k >= fromMs).sort((a, b) => a - b);
  for (const ts of keys) {
    const back = (p: string) => Array.from({ length: 12 }, (_, i) => hours.get(ts - i * 3_600_000)?.[p]);
    const now = hours.get(ts) ?? {};
    const r = vnAqiHourly({ pm25Hourly: back('pm25'), pm10Hourly: back('pm10'), o3: now.o3, no2: now.no2, so2: now.so2, co: now.co });
    if (r.ok) out.push({ ts, aqi: r.aqi, band: r.band, dominant: r.dominant });
  }
  return out;
}
