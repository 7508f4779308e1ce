// Loads the QARTOD QC file for the server (QC_CONFIG_PATH, default ingest/quality/qc.default.json):
// an unusable file is a ConfigError listing every problem, so start-up stops with all of them.
import type { Registry } from '../contracts/stations.ts';
import { loadQcConfig, QcConfigError, type QcConfig } from '../ingest/quality/config.ts';
import { ConfigError } from './errors.ts';

export function loadQcSettings(path: string | undefined, registry: Registry): QcConfig {
  try {
    return path ? loadQcConfig(path, registry.stations) : loadQcConfig(undefined, registry.stations);
  } catch (err) {
    if (err instanceof QcConfigError) throw new ConfigError(err.problems.map((p) => `QC_CONFIG_PATH (${err.source}) ${p}`));
    throw err;
  }
}
