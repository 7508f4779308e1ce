// Request validation with the contract schemas: a failed parse becomes a 400 ApiError that lists
// every problem on one line, so clients see what to fix.
import { z } from 'zod';
import { ApiError, type ApiErrorCode } from './errors.ts';

export function parseOr400<S extends z.ZodType>(schema: S, input: unknown, code: ApiErrorCode = 'BAD_QUERY'): z.output<S> {
  const parsed = schema.safeParse(input ?? {});
  if (!parsed.success) throw new ApiError(code, z.prettifyError(parsed.error).replace(/\n/g, '; '));
  return parsed.data;
}
