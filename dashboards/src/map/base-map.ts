// The Leaflet base map: tiles from the configured URL (PORTAL_TILE_URL via /api/portal-config)
// when they load; otherwise a plain background with ward and commune names at their station
// centroids, so the map works with no internet (this machine, CI, a city intranet).
import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import { getOptional } from '../data/api.ts';
import type { Station } from '../data/types.ts';
import { esc } from '../dom.ts';
import { t } from '../i18n.ts';

export interface PortalConfig {
  readonly tileUrl?: string | null;
  readonly tileAttribution?: string | null;
}

let config: Promise<PortalConfig> | undefined;
export const portalConfig = (): Promise<PortalConfig> => (config ??= getOptional<PortalConfig>('/api/portal-config').then((c) => c ?? {}, () => ({})));

const HANOI: L.LatLngTuple = [21.03, 105.82];
/** Tiles that must fail, with none loaded, before the map falls back to labels. */
const TILE_FAILURES = 3;
const TILE_TIMEOUT_MS = 6000;

export interface WardLabel {
  readonly name: string;
  readonly type: string;
  readonly lat: number;
  readonly lon: number;
}

/** One label per ward/commune at the centroid of its stations. */
export function wardLabels(stations: readonly Station[]): WardLabel[] {
  const acc = new Map<string, { type: string; lat: number; lon: number; n: number }>();
  for (const s of stations) {
    const a = acc.get(s.ward) ?? { type: s.wardType, lat: 0, lon: 0, n: 0 };
    a.lat += s.lat;
    a.lon += s.lon;
    a.n += 1;
    acc.set(s.ward, a);
  }
  return [...acc].map(([name, a]) => ({ name, type: a.type, lat: a.lat / a.n, lon: a.lon / a.n }));
}

export interface BaseMap {
  readonly map: L.Map;
  destroy(): void;
}

export function createBaseMap(el: HTMLElement, stations: readonly Station[], cfg: PortalConfig, onNotice: (text: string) => void): BaseMap {
  const map = L.map(el, { center: HANOI, zoom: 11, zoomControl: true, keyboard: true, attributionControl: true, preferCanvas: false });
  map.attributionControl.setPrefix(false);
  const labels = L.layerGroup(
    wardLabels(stations).map((w) =>
      L.marker([w.lat, w.lon], {
        interactive: false,
        keyboard: false,
        icon: L.divIcon({ className: 'ward-label', html: esc(w.name), iconSize: undefined }),
      }),
    ),
  );
  const fallback = () => {
    el.classList.add('no-tiles');
    if (!map.hasLayer(labels)) labels.addTo(map);
  };

  if (cfg.tileUrl) {
    let loadedOne = false;
    let failures = 0;
    const tiles = L.tileLayer(cfg.tileUrl, { attribution: cfg.tileAttribution ?? '', maxZoom: 18 });
    const giveUp = () => {
      if (loadedOne) return;
      map.removeLayer(tiles);
      fallback();
      onNotice(t('noTiles'));
    };
    const timer = setTimeout(giveUp, TILE_TIMEOUT_MS);
    tiles.on('tileload', () => {
      loadedOne = true;
      clearTimeout(timer);
    });
    tiles.on('tileerror', () => {
      if (++failures >= TILE_FAILURES) {
        clearTimeout(timer);
        giveUp();
      }
    });
    tiles.addTo(map);
  } else {
    fallback();
  }
  // Ward names only when zoomed in enough to read them.
  const toggleDense = () => el.classList.toggle('labels-sparse', map.getZoom() < 11);
  map.on('zoomend', toggleDense);
  toggleDense();

  return { map, destroy: () => map.remove() };
}

export function fitTo(map: L.Map, stations: readonly Station[]): void {
  if (stations.length === 0) return;
  map.fitBounds(L.latLngBounds(stations.map((s) => [s.lat, s.lon] as L.LatLngTuple)), { padding: [24, 24], maxZoom: 13 });
}
