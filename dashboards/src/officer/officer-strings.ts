// Officer console strings (vi/en), kept with the console so it stays one isolated folder.
import type { Text } from '../i18n.ts';

export const O = {
  title: { vi: 'Bảng điều khiển cán bộ', en: 'Officer console' },
  username: { vi: 'Tên đăng nhập', en: 'Username' },
  password: { vi: 'Mật khẩu', en: 'Password' },
  login: { vi: 'Đăng nhập', en: 'Log in' },
  logout: { vi: 'Đăng xuất', en: 'Log out' },
  denied: { vi: 'Sai tên đăng nhập hoặc mật khẩu.', en: 'Wrong username or password.' },
  absent: {
    vi: 'Máy chủ này chưa có chức năng cảnh báo (API đăng nhập/cảnh báo chưa sẵn sàng).',
    en: 'This server does not offer alerts yet (the login/alert API is not available).',
  },
  failed: { vi: 'Có lỗi khi liên lạc với máy chủ', en: 'The server could not be reached' },
  active: { vi: 'Cảnh báo đang hoạt động', en: 'Active alerts' },
  history: { vi: 'Lịch sử (đã kết thúc)', en: 'History (cleared)' },
  none: { vi: 'Không có cảnh báo.', en: 'No alerts.' },
  ack: { vi: 'Xác nhận', en: 'Acknowledge' },
  note: { vi: 'Ghi chú', en: 'Note' },
  acked: { vi: 'Đã xác nhận bởi', en: 'Acknowledged by' },
  opened: { vi: 'Bắt đầu', en: 'Opened' },
  cleared: { vi: 'Kết thúc', en: 'Cleared' },
  peak: { vi: 'Đỉnh', en: 'Peak' },
  severity: {
    minor: { vi: 'Nhẹ', en: 'Minor' },
    moderate: { vi: 'Trung bình', en: 'Moderate' },
    severe: { vi: 'Nghiêm trọng', en: 'Severe' },
    extreme: { vi: 'Cực kỳ nghiêm trọng', en: 'Extreme' },
  },
} as const satisfies Record<string, Text | Record<string, Text>>;
