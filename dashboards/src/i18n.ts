// The portal's two languages: Vietnamese by default, English on a switch. Every visible string is
// here; the choice persists in localStorage and sets <html lang>.

export type Lang = 'vi' | 'en';
export type Text = { readonly vi: string; readonly en: string };

const STORAGE_KEY = 'quantrac.lang';

const STRINGS = {
  title: { vi: 'Quan trắc môi trường Hà Nội', en: 'Hanoi environmental monitoring' },
  skip: { vi: 'Bỏ qua tới nội dung', en: 'Skip to content' },
  navAir: { vi: 'Không khí', en: 'Air quality' },
  navFlood: { vi: 'Ngập lụt & mưa', en: 'Floods & rain' },
  navOfficer: { vi: 'Cán bộ', en: 'Officers' },
  navReport: { vi: 'Báo cáo', en: 'Reports' },
  switchLang: { vi: 'English', en: 'Tiếng Việt' },
  switchLangLabel: { vi: 'Switch to English', en: 'Chuyển sang tiếng Việt' },
  live: { vi: 'Trực tiếp', en: 'Live' },
  connecting: { vi: 'Đang kết nối…', en: 'Connecting…' },
  offline: { vi: 'Mất kết nối — đang thử lại…', en: 'Offline — reconnecting…' },
  scale: { vi: 'Thang đo', en: 'Scale' },
  scaleVn: { vi: 'VN_AQI (Việt Nam)', en: 'VN_AQI (Vietnam)' },
  scaleUs: { vi: 'AQI Hoa Kỳ (US EPA)', en: 'US AQI (EPA)' },
  scaleNoteVn: {
    vi: 'Chỉ số VN_AQI giờ theo Quyết định 1459/QĐ-TCMT.',
    en: 'Hourly VN_AQI per Decision 1459/QĐ-TCMT.',
  },
  scaleNoteUs: {
    vi: 'Thang AQI của Cơ quan Bảo vệ Môi trường Hoa Kỳ (2024), chỉ để so sánh; không dùng chung với VN_AQI.',
    en: 'US EPA AQI (2024), for comparison only; never mixed with VN_AQI.',
  },
  legend: { vi: 'Chú giải', en: 'Legend' },
  noData: { vi: 'Chưa có dữ liệu', en: 'No data yet' },
  statusCalibrating: { vi: 'Trạm đang hiệu chuẩn: số liệu lúc này không dùng để tính AQI và cảnh báo.', en: 'Station under calibration: its values now are not used for the AQI or alerts.' },
  statusFault: { vi: 'Trạm đang bảo trì (lỗi thiết bị): số liệu lúc này không dùng để tính AQI và cảnh báo.', en: 'Station under maintenance (device fault): its values now are not used for the AQI or alerts.' },
  statusCalibratingShort: { vi: 'đang hiệu chuẩn', en: 'under calibration' },
  statusFaultShort: { vi: 'đang bảo trì', en: 'under maintenance' },
  qcSuspect: { vi: 'nghi vấn', en: 'suspect' },
  excludedMark: { vi: 'cán bộ đã đánh dấu không hợp lệ', en: 'marked invalid by an officer' },
  excludedNote: { vi: 'Giá trị bị cán bộ đánh dấu không hợp lệ vẫn được hiển thị nhưng không dùng để tính AQI và số liệu tổng hợp.', en: 'Values an officer marked invalid are shown but not used for the AQI or aggregates.' },
  qcFail: { vi: 'không đạt kiểm tra', en: 'failed QC' },
  qcNotEvaluated: { vi: 'chưa kiểm tra', en: 'not checked' },
  qcNote: { vi: 'Giá trị nghi vấn vẫn được hiển thị và sử dụng; giá trị không đạt kiểm tra chất lượng không được dùng để tính AQI và cảnh báo.', en: 'Suspect values are shown and used; values that failed quality control are not used for the AQI or alerts.' },
  stale: { vi: 'Dữ liệu cũ', en: 'Out of date' },
  staleLong: { vi: 'Trạm không gửi số liệu mới; giá trị dưới đây đã cũ.', en: 'The station has not reported recently; the values below are old.' },
  updated: { vi: 'cập nhật', en: 'updated' },
  dominant: { vi: 'Chất ô nhiễm chính', en: 'Main pollutant' },
  adviceGeneral: { vi: 'Người bình thường', en: 'General public' },
  adviceSensitive: { vi: 'Nhóm nhạy cảm', en: 'Sensitive groups' },
  adviceUsNote: { vi: 'Lời khuyên sức khỏe theo VN_AQI: chuyển thang đo sang VN_AQI để xem.', en: 'Health advice follows VN_AQI: switch the scale to VN_AQI to see it.' },
  indicative: { vi: 'Tính tạm từ số đo mới nhất.', en: 'Indicative, from the latest reading.' },
  allValues: { vi: 'Tất cả thông số', en: 'All parameters' },
  openStation: { vi: 'Xem biểu đồ của trạm', en: 'Open the station charts' },
  stations: { vi: 'Danh sách trạm', en: 'Stations' },
  ward: { vi: 'Phường/xã', en: 'Ward/commune' },
  formerDistrict: { vi: 'quận/huyện cũ', en: 'former district' },
  source: { vi: 'Nguồn: mạng quan trắc quantrac', en: 'Source: the quantrac monitoring network' },
  close: { vi: 'Đóng', en: 'Close' },
  noTiles: { vi: 'Không tải được bản đồ nền; hiển thị tên phường/xã.', en: 'Base map unavailable; showing ward and commune names.' },
  riverGauges: { vi: 'Trạm mực nước sông', en: 'River gauges' },
  streetFlood: { vi: 'Điểm ngập đường phố', en: 'Street flooding' },
  rainfall: { vi: 'Lượng mưa', en: 'Rainfall' },
  level: { vi: 'Mực nước', en: 'Water level' },
  belowI: { vi: 'Dưới báo động I', en: 'Below alert level I' },
  rising: { vi: 'Đang lên', en: 'Rising' },
  falling: { vi: 'Đang xuống', en: 'Falling' },
  steady: { vi: 'Ổn định', en: 'Steady' },
  perHour: { vi: 'cm/giờ', en: 'cm/h' },
  reaches: { vi: 'Dự báo tới', en: 'Forecast to reach' },
  in: { vi: 'sau khoảng', en: 'in about' },
  noForecast: { vi: 'Chưa đủ số liệu để dự báo', en: 'Not enough data to forecast' },
  depth: { vi: 'Độ sâu ngập', en: 'Flood depth' },
  rain1h: { vi: '1 giờ qua', en: 'last 1 h' },
  rain24h: { vi: '24 giờ qua', en: 'last 24 h' },
  levels: { vi: 'Mức báo động', en: 'Alert levels' },
  chart24h: { vi: '24 giờ qua', en: 'Last 24 hours' },
  chart7d: { vi: '7 ngày qua', en: 'Last 7 days' },
  hourlyAqi: { vi: 'VN_AQI theo giờ', en: 'Hourly VN_AQI' },
  limit: { vi: 'Giới hạn', en: 'Limit' },
  back: { vi: '← Về bản đồ', en: '← Back to the map' },
  unknownStation: { vi: 'Không có trạm này.', en: 'No such station.' },
  loadFailed: { vi: 'Không tải được dữ liệu; thử lại sau.', en: 'Could not load the data; try again later.' },
  loading: { vi: 'Đang tải…', en: 'Loading…' },
  chartEmpty: { vi: 'Chưa có số liệu trong khoảng này.', en: 'No readings in this period.' },
  mean: { vi: 'trung bình', en: 'mean' },
  hour: { vi: 'Giờ', en: 'Hour' },
  category: { vi: 'Mức', en: 'Category' },
  value: { vi: 'Giá trị', en: 'Value' },
} as const satisfies Record<string, Text>;

export type StringKey = keyof typeof STRINGS;

function initialLang(): Lang {
  const fromUrl = new URLSearchParams(location.search).get('lang');
  if (fromUrl === 'en' || fromUrl === 'vi') return fromUrl;
  return localStorage.getItem(STORAGE_KEY) === 'en' ? 'en' : 'vi';
}

let current: Lang = initialLang();
const listeners = new Set<(lang: Lang) => void>();

export const lang = (): Lang => current;
export const t = (key: StringKey): string => STRINGS[key][current];
/** Picks the current language of a {vi, en} pair from the contracts. */
export const tr = (text: Text): string => text[current];

export function setLang(next: Lang): void {
  current = next;
  localStorage.setItem(STORAGE_KEY, next);
  document.documentElement.lang = next;
  for (const l of listeners) l(next);
}

export function onLangChange(fn: (lang: Lang) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** "3 phút trước" / "3 minutes ago" for an epoch-ms instant. */
export function relativeTime(atMs: number, nowMs: number = Date.now()): string {
  const fmt = new Intl.RelativeTimeFormat(current, { numeric: 'auto' });
  const s = Math.round((atMs - nowMs) / 1000);
  const abs = Math.abs(s);
  if (abs < 45) return fmt.format(0, 'second');
  if (abs < 3600) return fmt.format(Math.round(s / 60), 'minute');
  if (abs < 86400) return fmt.format(Math.round(s / 3600), 'hour');
  return fmt.format(Math.round(s / 86400), 'day');
}

/** "4 giờ 10 phút" / "4 h 10 min". */
export function duration(minutes: number): string {
  const h = Math.floor(minutes / 60);
  const m = Math.round(minutes % 60);
  const [hu, mu] = current === 'vi' ? ['giờ', 'phút'] : ['h', 'min'];
  return h > 0 ? `${h} ${hu} ${m} ${mu}` : `${m} ${mu}`;
}

export function formatTime(ms: number): string {
  return new Date(ms).toLocaleString(current === 'vi' ? 'vi-VN' : 'en-GB', { timeZone: 'Asia/Ho_Chi_Minh', dateStyle: 'short', timeStyle: 'short' });
}

export function formatNumber(v: number, digits = 1): string {
  return v.toLocaleString(current === 'vi' ? 'vi-VN' : 'en-GB', { maximumFractionDigits: digits });
}
