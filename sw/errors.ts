import type { AuthErrorCode, AuthErrorInfo } from './messages.ts';

/** Every failure the worker reports is one of these: a code a program can branch on, a message a person can act on. */
export class AuthError extends Error {
  override readonly name = 'AuthError';
  readonly code: AuthErrorCode;
  constructor(code: AuthErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  toInfo(): AuthErrorInfo {
    return { code: this.code, message: this.message };
  }
}

export function toErrorInfo(error: unknown, fallback: AuthErrorCode, context: string): AuthErrorInfo {
  if (error instanceof AuthError) return error.toInfo();
  const detail = error instanceof Error ? error.message : String(error);
  return { code: fallback, message: `${context}: ${detail}` };
}
