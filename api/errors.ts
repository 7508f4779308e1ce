// The API's error catalogue: stable codes, each with its HTTP status (Fastify's demo-app habit).
export const API_ERRORS = {
  STATION_NOT_FOUND: { status: 404, message: 'no such station' },
  BAD_QUERY: { status: 400, message: 'invalid query parameters' },
  RANGE_TOO_LARGE: { status: 400, message: 'time range or point count over the limit' },
  DATABASE_UNAVAILABLE: { status: 503, message: 'the time-series database is unavailable' },
} as const;

export type ApiErrorCode = keyof typeof API_ERRORS;

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly code: ApiErrorCode,
    readonly detail?: string,
    options?: ErrorOptions,
  ) {
    super(detail ?? API_ERRORS[code].message, options);
  }
  get status(): number {
    return API_ERRORS[this.code].status;
  }
}
