// Health advice per VN_AQI category, for the general public and for sensitive groups, modelled on
// the advice table of Decision 1459/QĐ-TCMT (Table 3). Plain wording meant for the public.
import type { VnAqiCategory } from './vn-aqi.ts';

export interface HealthAdvice {
  readonly general: { readonly vi: string; readonly en: string };
  readonly sensitive: { readonly vi: string; readonly en: string };
}

/** Who the decision counts as sensitive groups. */
export const VN_AQI_SENSITIVE_GROUPS = {
  vi: 'người già, trẻ em, người mắc bệnh hô hấp hoặc tim mạch',
  en: 'the elderly, children, people with respiratory or cardiovascular disease',
} as const;

export const VN_AQI_ADVICE: Readonly<Record<VnAqiCategory, HealthAdvice>> = {
  good: {
    general: { vi: 'Tự do thực hiện các hoạt động ngoài trời.', en: 'Enjoy outdoor activities as usual.' },
    sensitive: { vi: 'Tự do thực hiện các hoạt động ngoài trời.', en: 'Enjoy outdoor activities as usual.' },
  },
  moderate: {
    general: { vi: 'Tự do thực hiện các hoạt động ngoài trời.', en: 'Outdoor activities are fine.' },
    sensitive: {
      vi: 'Nên theo dõi các triệu chứng như ho hoặc khó thở, nhưng vẫn có thể hoạt động ngoài trời.',
      en: 'Watch for symptoms such as coughing or shortness of breath; outdoor activities are still fine.',
    },
  },
  poor: {
    general: {
      vi: 'Người thấy đau mắt, ho hoặc đau họng nên cân nhắc giảm hoạt động ngoài trời.',
      en: 'If your eyes hurt or you cough or have a sore throat, consider spending less time outdoors.',
    },
    sensitive: {
      vi: 'Nên giảm các hoạt động mạnh và giảm thời gian hoạt động ngoài trời. Người bị hen suyễn có thể cần dùng thuốc thường xuyên hơn.',
      en: 'Reduce strenuous activity and time spent outdoors. People with asthma may need their medicine more often.',
    },
  },
  bad: {
    general: {
      vi: 'Mọi người nên giảm hoạt động mạnh ngoài trời, tránh tập thể dục lâu và nghỉ ngơi nhiều hơn trong nhà.',
      en: 'Everyone should reduce strenuous outdoor activity, avoid long exercise and rest indoors more.',
    },
    sensitive: {
      vi: 'Nên ở trong nhà và giảm hoạt động mạnh. Nếu cần ra ngoài, hãy đeo khẩu trang đạt tiêu chuẩn.',
      en: 'Stay indoors and reduce strenuous activity. If you must go out, wear a certified mask.',
    },
  },
  very_bad: {
    general: {
      vi: 'Mọi người hạn chế tối đa hoạt động ngoài trời, chuyển các hoạt động vào trong nhà. Nếu cần ra ngoài, hãy đeo khẩu trang đạt tiêu chuẩn.',
      en: 'Everyone should keep outdoor activity to a minimum and move activities indoors. If you must go out, wear a certified mask.',
    },
    sensitive: {
      vi: 'Nên ở trong nhà và giảm hoạt động mạnh.',
      en: 'Stay indoors and reduce strenuous activity.',
    },
  },
  hazardous: {
    general: {
      vi: 'Mọi người nên ở trong nhà, đóng cửa ra vào và cửa sổ. Nếu cần ra ngoài, hãy đeo khẩu trang đạt tiêu chuẩn.',
      en: 'Everyone should stay indoors with doors and windows closed. If you must go out, wear a certified mask.',
    },
    sensitive: {
      vi: 'Ở trong nhà, đóng cửa ra vào và cửa sổ, tránh mọi hoạt động mạnh.',
      en: 'Stay indoors with doors and windows closed and avoid any strenuous activity.',
    },
  },
};
