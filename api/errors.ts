// The API's error catalogue: stable codes, each with its HTTP status (Fastify's demo-app habit).
// Every error body is `{ error: CODE, message }`; clients branch on `error`, never on `message`.
export const API_ERRORS = {
  STATION_NOT_FOUND: { status: 404, message: 'no such station' },
  NOT_FOUND: { status: 404, message: 'no such resource' },
  BAD_QUERY: { status: 400, message: 'invalid query parameters' },
  BAD_BODY: { status: 400, message: 'invalid request body' },
  RANGE_TOO_LARGE: { status: 400, message: 'time range or point count over the limit' },
  UNAUTHORIZED: { status: 401, message: 'a valid bearer token is required' },
  LOGIN_FAILED: { status: 401, message: 'unknown user or wrong password' },
  FORBIDDEN: { status: 403, message: 'your role may not do this' },
  BAD_PATH: { status: 400, message: 'the path is not a valid URL path' },
  RATE_LIMITED: { status: 429, message: 'too many requests; slow down' },
  LOGIN_LOCKED: { status: 429, message: 'too many failed logins; wait before trying again' },
  DATABASE_UNAVAILABLE: { status: 503, message: 'the time-series database is unavailable' },
  BUSY: { status: 503, message: 'the server is busy; try again shortly' },
  MARKS_READ_ONLY: { status: 503, message: 'validation marks cannot be changed until an operator repairs the marks file on the server' },
  INTERNAL_ERROR: { status: 500, message: 'the server failed to answer; this is a bug and was logged' },
} as const;

export type ApiErrorCode = keyof typeof API_ERRORS;

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly code: ApiErrorCode;
  readonly detail: string | undefined;

  constructor(code: ApiErrorCode, detail?: string, options?: ErrorOptions) {
    super(detail ?? API_ERRORS[code].message, options);
    this.code = code;
    this.detail = detail;
  }
  get status(): number {
    return API_ERRORS[this.code].status;
  }
}
