// Reads a metric from the server's /metrics exposition (both threads' registries merged), summing
// the series whose labels include every `key="value"` given.
export async function metricSum(httpUrl: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return text
    .split('\n')
    .filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && want.every((kv) => l.includes(kv)))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}
