// The server's /readyz checks: InfluxDB answers its ping, the MQTT listeners are bound and
// accepting, the spool is not full, and the hand-edited files (users.json, gateways.json) are the
// ones in use (a bad edit degrades: the last good version keeps serving). No check names an
// internal address; api/routes/health.ts shows the messages only to operators.
import type { ReadinessCheck } from '../api/app.ts';

export interface ReadinessDeps {
  readonly influxPing: () => Promise<boolean>;
  /** undefined until the broker has started. */
  readonly broker: () => { listening(): boolean } | undefined;
  readonly spool: () => { readonly full: boolean; readonly bytes: number };
  readonly spoolMaxBytes: number;
  /** Files served with their last good version when a new one is unusable. */
  readonly files: readonly { readonly name: string; problem(): string | undefined }[];
}

export function createReadinessChecks(deps: ReadinessDeps): ReadinessCheck[] {
  return [
    { name: 'influxdb', check: async () => ((await deps.influxPing()) ? undefined : 'InfluxDB does not answer its ping') },
    {
      name: 'broker',
      check: async () => {
        const broker = deps.broker();
        if (!broker) return 'MQTT broker not started';
        return broker.listening() ? undefined : 'MQTT broker not accepting connections (listener closed)';
      },
    },
    {
      name: 'spool',
      check: async () => {
        const s = deps.spool();
        return s.full ? `spool full (${s.bytes} of ${deps.spoolMaxBytes} bytes): acknowledgements are held until InfluxDB catches up` : undefined;
      },
    },
    ...deps.files.map((f): ReadinessCheck => ({ name: f.name, degradesOnly: true, check: async () => f.problem() })),
  ];
}
