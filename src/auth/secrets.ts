import { hash, verify } from '@node-rs/argon2';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Password hashing (argon2id) and bearer-token helpers. Nothing here logs its input. */

export function hashPassword(password: string): Promise<string> {
  return hash(password);
}

export function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  // A stored hash argon2 cannot read matches no password.
  return verify(passwordHash, password).catch(() => false);
}

// Verified against when the email is unknown, so a miss costs as much as a wrong password.
let decoyHash: Promise<string> | undefined;
export function decoyPasswordHash(): Promise<string> {
  decoyHash ??= hashPassword(randomBytes(16).toString('hex'));
  return decoyHash;
}

/** A new random bearer token (256 bits). */
export function generateToken(): string {
  return `hov_${randomBytes(32).toString('base64url')}`;
}

/** Tokens are random and long, so a plain SHA-256 is enough to store them. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Constant-time comparison of two `tokenHash` digests (always the same length). */
export function tokenHashesEqual(a: string, b: string): boolean {
  return timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}
