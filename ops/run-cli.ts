// The ending every ops CLI shares: exit with main()'s code; a configuration error is its message
// and exit code 2, anything else its stack and exit code 1.
import { ConfigError } from '../server/errors.ts';

export function runCli(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${err instanceof ConfigError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(err instanceof ConfigError ? 2 : 1);
    },
  );
}
