// Webhook URLs often carry their secret (https://user:pass@host/hook, ?token=…). Wherever a URL is
// shown (logs, the deliveries API, error texts) it goes without its user info and query; when a
// request is made, user info becomes HTTP Basic authentication (fetch refuses URLs with
// credentials, RFC 9110 §4.2.4 deprecates them in the URL itself).
export function redactUrl(url: string): string {
  if (!URL.canParse(url)) return '[unparseable URL]';
  const u = new URL(url);
  const userinfo = u.username || u.password ? '***@' : '';
  const query = u.search ? '?***' : '';
  return `${u.protocol}//${userinfo}${u.host}${u.pathname}${query}`;
}

/** The URL to request and the Authorization header its user info stands for. */
export function requestTarget(url: string): { url: string; headers: Record<string, string> } {
  const u = new URL(url);
  if (!u.username && !u.password) return { url, headers: {} };
  const basic = Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64');
  u.username = '';
  u.password = '';
  return { url: u.toString(), headers: { authorization: `Basic ${basic}` } };
}

/** `text` with every appearance of `url` (and its parts that carry secrets) redacted. */
export function redactIn(text: string, url: string): string {
  let out = text.split(url).join(redactUrl(url));
  if (URL.canParse(url)) {
    const u = new URL(url);
    for (const secret of [u.password, u.search.slice(1)]) if (secret.length >= 4) out = out.split(secret).join('***');
  }
  return out;
}
