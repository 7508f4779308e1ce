// Deterministic generator of the station registry (contracts/stations.json) and of larger
// synthetic registries for load tests. Run: `node contracts/registry/generate-stations.ts`
// (rewrites contracts/stations.json) or `... --scale 10000 --out /tmp/stations-10k.json`.
//
// Coordinates are APPROXIMATE centroids of each ward/commune (hand-placed from the pre-2025
// district maps, good to a few hundred metres), jittered by a seeded RNG; they are for maps and
// storm-cell simulation, not for surveying. Ward names follow docs/standards.md §8 (the 51 wards of
// Resolution 1656/NQ-UBTVQH15); the commune list is a subset of the 75 communes, spelled as the
// project understood them — check against the resolution before publishing.
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { RegistrySchema, type RegistryFile, type Station } from '../stations.ts';

/** Bump both when the generated stations change (RegistrySchema: "bumped whenever ..."). */
export const REGISTRY_VERSION = 2;
export const REGISTRY_UPDATED = '2026-11-23';
export const DEFAULT_SEED = 2025;

type WardType = 'phường' | 'xã';
interface Place { readonly ward: string; readonly wardType: WardType; readonly formerDistrict: string; readonly lat: number; readonly lon: number }

const p = (ward: string, formerDistrict: string, lat: number, lon: number, wardType: WardType = 'phường'): Place => ({ ward, wardType, formerDistrict, lat, lon });

/** The 51 wards (docs/standards.md §8), approximate centroids. */
export const WARDS: readonly Place[] = [
  p('Hoàn Kiếm', 'Hoàn Kiếm', 21.0285, 105.8522), p('Cửa Nam', 'Hoàn Kiếm', 21.0245, 105.843),
  p('Ba Đình', 'Ba Đình', 21.0365, 105.835), p('Ngọc Hà', 'Ba Đình', 21.039, 105.822),
  p('Giảng Võ', 'Ba Đình', 21.027, 105.818), p('Hai Bà Trưng', 'Hai Bà Trưng', 21.013, 105.853),
  p('Vĩnh Tuy', 'Hai Bà Trưng', 21.0, 105.872), p('Bạch Mai', 'Hai Bà Trưng', 21.002, 105.848),
  p('Đống Đa', 'Đống Đa', 21.015, 105.825), p('Kim Liên', 'Đống Đa', 21.008, 105.837),
  p('Văn Miếu – Quốc Tử Giám', 'Đống Đa', 21.028, 105.836), p('Láng', 'Đống Đa', 21.023, 105.805),
  p('Ô Chợ Dừa', 'Đống Đa', 21.019, 105.827), p('Hồng Hà', 'Hoàn Kiếm', 21.0433, 105.858),
  p('Lĩnh Nam', 'Hoàng Mai', 20.983, 105.88), p('Hoàng Mai', 'Hoàng Mai', 20.976, 105.859),
  p('Vĩnh Hưng', 'Hoàng Mai', 20.993, 105.876), p('Tương Mai', 'Hoàng Mai', 20.992, 105.85),
  p('Định Công', 'Hoàng Mai', 20.984, 105.83), p('Hoàng Liệt', 'Hoàng Mai', 20.968, 105.84),
  p('Yên Sở', 'Hoàng Mai', 20.966, 105.87), p('Thanh Xuân', 'Thanh Xuân', 20.995, 105.808),
  p('Khương Đình', 'Thanh Xuân', 20.99, 105.818), p('Phương Liệt', 'Thanh Xuân', 20.999, 105.837),
  p('Cầu Giấy', 'Cầu Giấy', 21.0362, 105.7906), p('Nghĩa Đô', 'Cầu Giấy', 21.046, 105.799),
  p('Yên Hòa', 'Cầu Giấy', 21.02, 105.793), p('Tây Hồ', 'Tây Hồ', 21.068, 105.818),
  p('Phú Thượng', 'Tây Hồ', 21.086, 105.81), p('Tây Tựu', 'Bắc Từ Liêm', 21.07, 105.735),
  p('Phú Diễn', 'Bắc Từ Liêm', 21.047, 105.76), p('Xuân Đỉnh', 'Bắc Từ Liêm', 21.07, 105.79),
  p('Đông Ngạc', 'Bắc Từ Liêm', 21.085, 105.78), p('Thượng Cát', 'Bắc Từ Liêm', 21.093, 105.737),
  p('Từ Liêm', 'Nam Từ Liêm', 21.028, 105.765), p('Xuân Phương', 'Nam Từ Liêm', 21.038, 105.74),
  p('Tây Mỗ', 'Nam Từ Liêm', 21.005, 105.75), p('Đại Mỗ', 'Nam Từ Liêm', 20.995, 105.765),
  p('Long Biên', 'Long Biên', 21.04, 105.89), p('Bồ Đề', 'Long Biên', 21.048, 105.87),
  p('Việt Hưng', 'Long Biên', 21.06, 105.9), p('Phúc Lợi', 'Long Biên', 21.045, 105.925),
  p('Hà Đông', 'Hà Đông', 20.971, 105.776), p('Dương Nội', 'Hà Đông', 20.98, 105.75),
  p('Yên Nghĩa', 'Hà Đông', 20.95, 105.74), p('Phú Lương', 'Hà Đông', 20.945, 105.78),
  p('Kiến Hưng', 'Hà Đông', 20.955, 105.79), p('Thanh Liệt', 'Thanh Trì', 20.965, 105.82),
  p('Chương Mỹ', 'Chương Mỹ', 20.92, 105.71), p('Sơn Tây', 'Sơn Tây', 21.14, 105.505),
  p('Tùng Thiện', 'Sơn Tây', 21.11, 105.48),
];

/** Outer communes (xã) used for outer stations; a subset of the 75, approximate centroids. */
export const COMMUNES: readonly Place[] = [
  p('Gia Lâm', 'Gia Lâm', 21.02, 105.94, 'xã'), p('Bát Tràng', 'Gia Lâm', 20.978, 105.913, 'xã'),
  p('Phù Đổng', 'Gia Lâm', 21.06, 105.96, 'xã'), p('Thuận An', 'Gia Lâm', 21.0, 105.96, 'xã'),
  p('Đông Anh', 'Đông Anh', 21.14, 105.85, 'xã'), p('Phúc Thịnh', 'Đông Anh', 21.13, 105.82, 'xã'),
  p('Thư Lâm', 'Đông Anh', 21.16, 105.8, 'xã'), p('Vĩnh Thanh', 'Đông Anh', 21.11, 105.81, 'xã'),
  p('Sóc Sơn', 'Sóc Sơn', 21.26, 105.85, 'xã'), p('Nội Bài', 'Sóc Sơn', 21.22, 105.8, 'xã'),
  p('Đa Phúc', 'Sóc Sơn', 21.3, 105.83, 'xã'), p('Mê Linh', 'Mê Linh', 21.18, 105.72, 'xã'),
  p('Quang Minh', 'Mê Linh', 21.19, 105.77, 'xã'), p('Thanh Trì', 'Thanh Trì', 20.94, 105.85, 'xã'),
  p('Ngọc Hồi', 'Thanh Trì', 20.93, 105.84, 'xã'), p('Thường Tín', 'Thường Tín', 20.87, 105.86, 'xã'),
  p('Phú Xuyên', 'Phú Xuyên', 20.74, 105.91, 'xã'), p('Ứng Hòa', 'Ứng Hòa', 20.73, 105.78, 'xã'),
  p('Mỹ Đức', 'Mỹ Đức', 20.69, 105.74, 'xã'), p('Thanh Oai', 'Thanh Oai', 20.86, 105.77, 'xã'),
  p('Quốc Oai', 'Quốc Oai', 20.99, 105.64, 'xã'), p('Thạch Thất', 'Thạch Thất', 21.03, 105.57, 'xã'),
  p('Hòa Lạc', 'Thạch Thất', 21.01, 105.53, 'xã'), p('Đan Phượng', 'Đan Phượng', 21.09, 105.67, 'xã'),
  p('Hoài Đức', 'Hoài Đức', 21.03, 105.7, 'xã'), p('Phúc Thọ', 'Phúc Thọ', 21.11, 105.56, 'xã'),
  p('Ba Vì', 'Ba Vì', 21.2, 105.42, 'xã'), p('Cổ Đô', 'Ba Vì', 21.233, 105.348, 'xã'),
];

const ALL_PLACES = [...WARDS, ...COMMUNES];
const placeOf = (ward: string): Place => {
  const found = ALL_PLACES.find((x) => x.ward === ward);
  if (!found) throw new Error(`generator table: unknown ward ${ward}`);
  return found;
};

/** The version-1 stations, kept verbatim: other tests and dashboards rely on them. */
export const LEGACY_STATIONS: readonly Station[] = [
  { id: 'flood-longbien', kind: 'flood', floodType: 'river', name: 'Trạm thủy văn Hà Nội (Long Biên)', river: 'Hồng', gauge: 'Hà Nội (Long Biên)', levelsM: { I: 9.5, II: 10.5, III: 11.5 }, ward: 'Hồng Hà', wardType: 'phường', formerDistrict: 'Hoàn Kiếm', lat: 21.0433, lon: 105.858, gatewayId: 'gw-river', intervalS: 300 },
  { id: 'flood-sontay', kind: 'flood', floodType: 'river', name: 'Trạm thủy văn Sơn Tây', river: 'Hồng', gauge: 'Sơn Tây', levelsM: { I: 12.4, II: 13.4, III: 14.4 }, ward: 'Sơn Tây', wardType: 'phường', formerDistrict: 'Sơn Tây', lat: 21.155, lon: 105.505, gatewayId: 'gw-river', intervalS: 300 },
  { id: 'flood-trungha', kind: 'flood', floodType: 'river', name: 'Trạm thủy văn Trung Hà', river: 'Đà', gauge: 'Trung Hà', levelsM: { I: 15.0, II: 16.0, III: 17.0 }, ward: 'Cổ Đô', wardType: 'xã', formerDistrict: 'Ba Vì', lat: 21.233, lon: 105.348, gatewayId: 'gw-river', intervalS: 300 },
  { id: 'flood-thuongcat', kind: 'flood', floodType: 'river', name: 'Trạm thủy văn Thượng Cát', river: 'Đuống', gauge: 'Thượng Cát', levelsM: { I: 9.0, II: 10.0, III: 11.0 }, ward: 'Thượng Cát', wardType: 'phường', formerDistrict: 'Bắc Từ Liêm', lat: 21.093, lon: 105.737, gatewayId: 'gw-river', intervalS: 300 },
  { id: 'flood-batha', kind: 'flood', floodType: 'river', name: 'Trạm thủy văn Ba Thá', river: 'Đáy', gauge: 'Ba Thá', levelsM: { I: 5.5, II: 6.5, III: 7.5 }, ward: 'Ứng Thiên', wardType: 'xã', formerDistrict: 'Ứng Hòa', lat: 20.8, lon: 105.7, gatewayId: 'gw-river', intervalS: 300 },
  { id: 'air-001', kind: 'air', name: 'Quan trắc không khí Hoàn Kiếm', ward: 'Hoàn Kiếm', wardType: 'phường', formerDistrict: 'Hoàn Kiếm', lat: 21.0285, lon: 105.8522, gatewayId: 'gw-air-01', intervalS: 60 },
  { id: 'air-002', kind: 'air', name: 'Quan trắc không khí Cầu Giấy', ward: 'Cầu Giấy', wardType: 'phường', formerDistrict: 'Cầu Giấy', lat: 21.0362, lon: 105.7906, gatewayId: 'gw-air-01', intervalS: 60 },
  { id: 'water-001', kind: 'water', name: 'Quan trắc nước sông Tô Lịch', waterClass: 'B', river: 'Tô Lịch', ward: 'Láng', wardType: 'phường', formerDistrict: 'Đống Đa', lat: 21.023, lon: 105.805, gatewayId: 'gw-water-01', intervalS: 300 },
  { id: 'rain-001', kind: 'rain', name: 'Trạm đo mưa Hà Đông', ward: 'Hà Đông', wardType: 'phường', formerDistrict: 'Hà Đông', lat: 20.971, lon: 105.776, gatewayId: 'gw-rain-01', intervalS: 300 },
  { id: 'street-001', kind: 'flood', floodType: 'street', name: 'Điểm ngập Nguyễn Khuyến', ward: 'Văn Miếu – Quốc Tử Giám', wardType: 'phường', formerDistrict: 'Đống Đa', lat: 21.0295, lon: 105.8385, gatewayId: 'gw-street-01', intervalS: 120 },
];

type WaterClass = 'A' | 'B' | 'C' | 'D';
/** Water bodies and the wards their stations sit in; classes are the designated QCVN 08:2023 use. */
const WATER_BODIES: readonly { body: string; label: string; waterClass: WaterClass; wards: readonly string[] }[] = [
  { body: 'Tô Lịch', label: 'sông Tô Lịch', waterClass: 'D', wards: ['Cầu Giấy', 'Thanh Xuân', 'Khương Đình', 'Định Công', 'Hoàng Liệt', 'Thanh Liệt'] },
  { body: 'Kim Ngưu', label: 'sông Kim Ngưu', waterClass: 'D', wards: ['Hai Bà Trưng', 'Vĩnh Tuy', 'Tương Mai', 'Yên Sở'] },
  { body: 'Lừ', label: 'sông Lừ', waterClass: 'D', wards: ['Kim Liên', 'Phương Liệt'] },
  { body: 'Sét', label: 'sông Sét', waterClass: 'D', wards: ['Bạch Mai'] },
  { body: 'Nhuệ', label: 'sông Nhuệ', waterClass: 'C', wards: ['Phú Diễn', 'Từ Liêm', 'Hà Đông', 'Thanh Oai'] },
  { body: 'Hồng', label: 'sông Hồng', waterClass: 'B', wards: ['Hồng Hà', 'Lĩnh Nam', 'Phú Thượng'] },
  { body: 'Đuống', label: 'sông Đuống', waterClass: 'B', wards: ['Phù Đổng', 'Thư Lâm'] },
  { body: 'Hồ Tây', label: 'Hồ Tây', waterClass: 'B', wards: ['Tây Hồ', 'Phú Thượng'] },
  { body: 'Hồ Hoàn Kiếm', label: 'hồ Hoàn Kiếm', waterClass: 'B', wards: ['Hoàn Kiếm'] },
  { body: 'Hồ Trúc Bạch', label: 'hồ Trúc Bạch', waterClass: 'C', wards: ['Ba Đình'] },
  { body: 'Hồ Yên Sở', label: 'hồ Yên Sở', waterClass: 'C', wards: ['Yên Sở'] },
  { body: 'Đáy', label: 'sông Đáy', waterClass: 'B', wards: ['Chương Mỹ'] },
  { body: 'Cà Lồ', label: 'sông Cà Lồ', waterClass: 'A', wards: ['Nội Bài'] },
];

/** Known street-flooding hotspots (drainage-company lists, press), by street and ward. */
const STREET_HOTSPOTS: readonly [street: string, ward: string][] = [
  ['Trần Cung', 'Nghĩa Đô'], ['Phạm Văn Đồng', 'Xuân Đỉnh'], ['Nguyễn Trãi', 'Thanh Xuân'],
  ['Hoàng Quốc Việt', 'Nghĩa Đô'], ['Lê Văn Lương', 'Yên Hòa'], ['Phan Bội Châu', 'Cửa Nam'],
  ['Lý Nam Đế', 'Hoàn Kiếm'], ['Cửa Bắc', 'Ba Đình'], ['Phan Đình Phùng', 'Ba Đình'],
  ['Tôn Đức Thắng', 'Văn Miếu – Quốc Tử Giám'], ['Quán Sứ', 'Cửa Nam'], ['Trường Chinh', 'Kim Liên'],
  ['Nguyễn Lương Bằng', 'Đống Đa'], ['Tây Sơn', 'Đống Đa'], ['Thái Hà', 'Đống Đa'],
  ['Láng Hạ', 'Láng'], ['Huỳnh Thúc Kháng', 'Láng'], ['Nguyễn Chí Thanh', 'Láng'],
  ['Kim Mã', 'Giảng Võ'], ['Đội Cấn', 'Ngọc Hà'], ['Thụy Khuê', 'Tây Hồ'],
  ['Minh Khai', 'Vĩnh Tuy'], ['Đại La', 'Bạch Mai'], ['Giải Phóng', 'Phương Liệt'],
  ['Trương Định', 'Tương Mai'], ['Kim Giang', 'Định Công'], ['Nguyễn Xiển', 'Khương Đình'],
  ['Khuất Duy Tiến', 'Thanh Xuân'], ['Vũ Trọng Phụng', 'Thanh Xuân'], ['Nguyễn Văn Huyên', 'Nghĩa Đô'],
  ['Đại lộ Thăng Long', 'Tây Mỗ'], ['Lê Đức Thọ', 'Từ Liêm'], ['Hồ Tùng Mậu', 'Cầu Giấy'],
  ['Xuân Thủy', 'Cầu Giấy'], ['Quang Trung', 'Hà Đông'], ['Tố Hữu', 'Đại Mỗ'],
  ['Ngọc Lâm', 'Bồ Đề'], ['Nguyễn Văn Cừ', 'Bồ Đề'], ['Cổ Linh', 'Long Biên'],
  ['Ngã Tư Sở', 'Thanh Xuân'], ['Hai Bà Trưng', 'Cửa Nam'], ['Chùa Bộc', 'Kim Liên'],
];

/** mulberry32: small, fast, good enough for placement jitter. */
function createRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Prefix = 'air' | 'water' | 'rain' | 'street';
const INTERVAL_S: Record<Prefix, number> = { air: 60, water: 300, rain: 300, street: 120 };
/** About ten stations per gateway, as field gateways are wired. */
const STATIONS_PER_GATEWAY = 10;

const stationId = (prefix: Prefix, n: number): string => `${prefix}-${String(n).padStart(3, '0')}`;
const gatewayOf = (prefix: Prefix, n: number): string =>
  `gw-${prefix}-${String(Math.ceil(n / STATIONS_PER_GATEWAY)).padStart(2, '0')}`;

interface Builder {
  readonly rng: () => number;
  readonly counts: Record<Prefix, number>;
  readonly out: Station[];
}

function add(b: Builder, prefix: Prefix, place: Place, jitterDeg: number, extra: (id: string) => Omit<Station, keyof Place | 'id' | 'gatewayId' | 'intervalS'>): void {
  const n = ++b.counts[prefix];
  const id = stationId(prefix, n);
  const j = (): number => (b.rng() * 2 - 1) * jitterDeg;
  const round = (x: number): number => Math.round(x * 1e4) / 1e4;
  b.out.push({
    id,
    ...extra(id),
    ward: place.ward,
    wardType: place.wardType,
    formerDistrict: place.formerDistrict,
    lat: round(place.lat + j()),
    lon: round(place.lon + j()),
    gatewayId: gatewayOf(prefix, n),
    intervalS: INTERVAL_S[prefix],
  } as Station);
}

const air = (name: string) => () => ({ kind: 'air' as const, name });
const rain = (name: string) => () => ({ kind: 'rain' as const, name });
const street = (name: string) => () => ({ kind: 'flood' as const, floodType: 'street' as const, name });
const water = (name: string, waterClass: WaterClass, river: string) => () => ({ kind: 'water' as const, name, waterClass, river });

export interface GenerateOptions {
  readonly seed?: number;
  /** Total number of stations wanted (≥ the base registry size); extra ones are synthetic. */
  readonly scale?: number;
}

/** The base registry: legacy stations, then one air and rain station per ward, water bodies, hotspots. */
export function generateRegistry(opts: GenerateOptions = {}): RegistryFile {
  const b: Builder = { rng: createRng(opts.seed ?? DEFAULT_SEED), counts: { air: 2, water: 1, rain: 1, street: 1 }, out: [...LEGACY_STATIONS] };
  const legacyWards = new Set(['Hoàn Kiếm', 'Cầu Giấy']);
  for (const w of WARDS) if (!legacyWards.has(w.ward)) add(b, 'air', w, 0.003, air(`Quan trắc không khí ${w.ward}`));
  for (const c of COMMUNES) add(b, 'air', c, 0.003, air(`Quan trắc không khí xã ${c.ward}`));
  for (const w of WARDS) {
    if (b.counts.air >= 100) break;
    add(b, 'air', w, 0.006, air(`Quan trắc không khí ${w.ward} (2)`));
  }
  for (const wb of WATER_BODIES) {
    for (const ward of wb.wards) add(b, 'water', placeOf(ward), 0.002, water(`Quan trắc nước ${wb.label} (${ward})`, wb.waterClass, wb.body));
  }
  for (const w of WARDS) if (w.ward !== 'Hà Đông') add(b, 'rain', w, 0.003, rain(`Trạm đo mưa ${w.ward}`));
  for (let i = 0; b.counts.rain < 60; i += 3) {
    const c = COMMUNES[i % COMMUNES.length]!;
    add(b, 'rain', c, 0.003, rain(`Trạm đo mưa xã ${c.ward}`));
  }
  for (const [name, ward] of STREET_HOTSPOTS) add(b, 'street', placeOf(ward), 0.003, street(`Điểm ngập ${name}`));
  addSynthetic(b, opts.scale);
  const file: RegistryFile = { version: REGISTRY_VERSION, updated: REGISTRY_UPDATED, stations: b.out };
  // Validate, but return our own objects: zod's output reorders keys, which would churn the diff.
  RegistrySchema.parse(file);
  return file;
}

/** Load-test stations: same kinds in the base proportions, placed anywhere in the city. */
function addSynthetic(b: Builder, scale: number | undefined): void {
  if (scale === undefined) return;
  if (!Number.isInteger(scale) || scale < b.out.length || scale > 100_000) {
    throw new RangeError(`scale must be an integer between ${b.out.length} and 100000, got ${scale}`);
  }
  const pattern: Prefix[] = [...Array<Prefix>(10).fill('air'), ...Array<Prefix>(3).fill('water'), ...Array<Prefix>(6).fill('rain'), ...Array<Prefix>(4).fill('street')];
  for (let i = 0; b.out.length < scale; i++) {
    const prefix = pattern[i % pattern.length]!;
    const place = ALL_PLACES[Math.floor(b.rng() * ALL_PLACES.length)]!;
    const label = `${place.ward} #${b.counts[prefix] + 1}`;
    if (prefix === 'air') add(b, prefix, place, 0.01, air(`Quan trắc không khí ${label}`));
    else if (prefix === 'rain') add(b, prefix, place, 0.01, rain(`Trạm đo mưa ${label}`));
    else if (prefix === 'street') add(b, prefix, place, 0.01, street(`Điểm ngập ${label}`));
    else {
      const wb = WATER_BODIES[Math.floor(b.rng() * WATER_BODIES.length)]!;
      add(b, prefix, place, 0.01, water(`Quan trắc nước ${wb.label} ${label}`, wb.waterClass, wb.body));
    }
  }
}

/** One station per line, so that registry diffs stay readable. */
export function formatRegistry(file: RegistryFile): string {
  const lines = file.stations.map((s) => `    ${JSON.stringify(s, null, 1).replace(/\n\s*/g, ' ')}`);
  return `{\n  "version": ${file.version},\n  "updated": "${file.updated}",\n  "stations": [\n${lines.join(',\n')}\n  ]\n}\n`;
}

function parseArgs(argv: readonly string[]): { seed: number; scale?: number; out: string } {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const scaleArg = value('--scale');
  const out = value('--out');
  if (scaleArg !== undefined && out === undefined) {
    throw new Error('--scale needs --out FILE: the committed contracts/stations.json is never scaled');
  }
  return {
    seed: Number(value('--seed') ?? DEFAULT_SEED),
    ...(scaleArg === undefined ? {} : { scale: Number(scaleArg) }),
    out: out ?? fileURLToPath(new URL('../stations.json', import.meta.url)),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = parseArgs(process.argv.slice(2));
  const file = generateRegistry(args);
  writeFileSync(args.out, formatRegistry(file));
  process.stderr.write(`wrote ${file.stations.length} stations (version ${file.version}) to ${args.out}\n`);
}
