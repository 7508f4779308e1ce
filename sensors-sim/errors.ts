// The simulator's one error type a caller branches on: bad configuration (exit 2, print usage).
export class SimConfigError extends Error {
  override readonly name = 'SimConfigError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}
