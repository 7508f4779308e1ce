// Stops one child process: SIGTERM, SIGKILL after a grace period; resolves once it has exited,
// with whether it stopped cleanly (exit code 0). Shared by `npm start`, `npm run cluster` and benches.
import type { ChildProcess } from 'node:child_process';

export async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode === 0;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
  return child.exitCode === 0;
}
