// Write errors that carry the writer's decision (STYLE.md 8): branch on the class, never on text.
import type { RefusedLines } from './partial-write.ts';

/** Try the same batch again later; `retryAfterMs` is the server's Retry-After when it sent one. */
export class RetryableWriteError extends Error {
  override readonly name = 'RetryableWriteError';
  readonly retryAfterMs: number | undefined;
  readonly status: number | undefined;

  constructor(message: string, retryAfterMs: number | undefined, status: number | undefined, options?: ErrorOptions) {
    super(message, options);
    this.retryAfterMs = retryAfterMs;
    this.status = status;
  }
}

/**
 * The database refused some or all lines (400/422). Good lines of a partial write are stored.
 * `refused` is the server's own list of the refused lines (InfluxDB 3.x), when it sent one.
 */
export class RejectedWriteError extends Error {
  override readonly name = 'RejectedWriteError';
  readonly refused: RefusedLines | undefined;

  constructor(message: string, refused?: RefusedLines, options?: ErrorOptions) {
    super(message, options);
    this.refused = refused;
  }
}

/** The server refused our credentials (401/403): retried like any outage, but named for the operator. */
export class InfluxAuthError extends Error {
  override readonly name = 'InfluxAuthError';
}

/** The request body was too large (413): split the batch. */
export class TooLargeWriteError extends Error {
  override readonly name = 'TooLargeWriteError';
}

/** The database (1.x) or bucket (2.x/3.x) does not exist. */
export class DatabaseMissingError extends Error {
  override readonly name = 'DatabaseMissingError';
}

/** A read (InfluxQL /query) could not be answered: InfluxDB unreachable, timing out or failing (5xx). */
export class DatabaseUnavailableError extends Error {
  override readonly name = 'DatabaseUnavailableError';
}
