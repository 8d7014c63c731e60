/** Why the synchronous verifier refused a token; `code` uses jose's names (`ERR_JWT_EXPIRED`, …). Only ever a `cause`. */
export class TokenCheckError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'TokenCheckError';
  }
}
