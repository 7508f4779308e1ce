// HTTP access to the quantrac API. An endpoint that is not built yet answers 404, or (for GET) the
// portal's index.html through the catch-all route: both count as "absent", never as data.

export class HttpError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
    this.name = 'HttpError';
  }
}

/** The endpoint does not exist on this server (yet). */
export class AbsentError extends HttpError {
  constructor(path: string) {
    super(404, `${path} is not available on this server`);
    this.name = 'AbsentError';
  }
}

export async function requestJson<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(path, { ...init, headers: { accept: 'application/json', ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers } });
  const isJson = (res.headers.get('content-type') ?? '').includes('json');
  if (!isJson && (res.ok || res.status === 404)) throw new AbsentError(path);
  const body: unknown = isJson ? await res.json() : await res.text();
  // Fastify's own 404 for an unknown route: "Route POST:/api/x not found".
  if (res.status === 404 && /^Route \S+ not found/.test(String((body as { message?: unknown }).message ?? ''))) throw new AbsentError(path);
  if (!res.ok) {
    const msg = typeof body === 'object' && body !== null && 'message' in body ? String((body as { message: unknown }).message) : `HTTP ${res.status}`;
    throw new HttpError(res.status, msg);
  }
  return body as T;
}

/** Like requestJson, but an absent endpoint gives undefined. */
export async function getOptional<T>(path: string): Promise<T | undefined> {
  try {
    return await requestJson<T>(path);
  } catch (err) {
    if (err instanceof AbsentError) return undefined;
    throw err;
  }
}

/** Runs `fn` over `items` with at most `limit` at a time (keeps fallback fan-out polite). */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
