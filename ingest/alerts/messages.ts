// Alert messages in plain Vietnamese and English: station, what is measured, value, level and
// threshold; health advice for VN_AQI (Decision 1459 asks for it); the forecast for flood levels.
import type { Alert, AlertLevel, Forecast } from '../../contracts/alerts.ts';
import type { Station } from '../../contracts/stations.ts';
import { VN_AQI_ADVICE } from '../../contracts/standards/vn-aqi-advice.ts';
import { vnAqiBand } from '../../contracts/standards/vn-aqi.ts';

const numVi = new Intl.NumberFormat('vi-VN', { maximumFractionDigits: 2 });
const numEn = new Intl.NumberFormat('en-GB', { maximumFractionDigits: 2 });
const timeVi = new Intl.DateTimeFormat('vi-VN', { timeZone: 'Asia/Ho_Chi_Minh', hour: '2-digit', minute: '2-digit', day: '2-digit', month: '2-digit' });
const timeEn = new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Ho_Chi_Minh', hour: '2-digit', minute: '2-digit', day: '2-digit', month: 'short' });

interface MessageInput {
  readonly station: Station;
  readonly signal: string;
  readonly measure: Alert['measure'];
  readonly unit: string;
  readonly level: AlertLevel;
  readonly value: number;
  readonly state: Alert['state'];
  readonly forecast: Forecast | null;
}

export function alertMessage(m: MessageInput): Alert['message'] {
  const unit = m.unit ? ` ${m.unit}` : '';
  if (m.state === 'cleared') {
    return {
      vi: `${m.station.name}: ${m.measure.vi} ${numVi.format(m.value)}${unit} đã trở lại dưới ngưỡng cảnh báo.`,
      en: `${m.station.name}: ${m.measure.en} ${numEn.format(m.value)}${unit} is back within the alert threshold.`,
    };
  }
  let vi = `${m.station.name}: ${m.measure.vi} ${numVi.format(m.value)}${unit} — ${m.level.label.vi} (ngưỡng ${m.level.threshold}).`;
  let en = `${m.station.name}: ${m.measure.en} ${numEn.format(m.value)}${unit} — ${m.level.label.en} (threshold ${m.level.threshold}).`;
  if (m.signal === 'vn_aqi_hourly') {
    const advice = VN_AQI_ADVICE[vnAqiBand(m.value).category];
    vi += ` Khuyến nghị: ${advice.general.vi} Nhóm nhạy cảm: ${advice.sensitive.vi}`;
    en += ` Advice: ${advice.general.en} Sensitive groups: ${advice.sensitive.en}`;
  }
  const f = m.forecast;
  if (f && f.nextLevel && f.nextLevelAt !== undefined && f.rateCmH > 0) {
    vi += ` Nước lên ${numVi.format(f.rateCmH)} cm/h; dự kiến đạt mức ${f.nextLevel} lúc ${timeVi.format(f.nextLevelAt)}.`;
    en += ` Rising ${numEn.format(f.rateCmH)} cm/h; level ${f.nextLevel} expected at ${timeEn.format(f.nextLevelAt)}.`;
  }
  return { vi, en };
}
