// Errors of the broker's credential administration: each carries a stable code the CLI branches on.

export type CredentialErrorCode = 'bad_id' | 'exists' | 'not_found' | 'revoked' | 'bad_certificate';

export class CredentialError extends Error {
  readonly code: CredentialErrorCode;

  constructor(code: CredentialErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CredentialError';
    this.code = code;
  }
}
