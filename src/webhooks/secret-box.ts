import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';
const SEALED = 'aes256gcm:';
const PLAIN = 'plain:';

/** A new Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64. */
export function newSigningSecret(): string {
  return PREFIX + randomBytes(32).toString('base64');
}

/**
 * How signing secrets are stored. Unlike a password, a signing secret cannot be kept as a hash:
 * every delivery computes an HMAC with the secret itself. With WEBHOOK_SECRET_KEY set it is
 * stored encrypted (AES-256-GCM, key = SHA-256 of the setting), so a database dump alone does
 * not let anyone forge deliveries; without it, as is.
 */
export class SecretBox {
  private readonly key: Buffer | null;

  constructor(setting: string | undefined) {
    this.key = setting === undefined ? null : createHash('sha256').update(setting).digest();
  }

  seal(secret: string): string {
    if (!this.key) return PLAIN + secret;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return SEALED + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  /** The secret; throws when it was sealed with a key this process does not have. */
  open(stored: string): string {
    if (stored.startsWith(PLAIN)) return stored.slice(PLAIN.length);
    if (!stored.startsWith(SEALED)) throw new Error('unknown secret format');
    if (!this.key) throw new Error('the signing secret is encrypted and WEBHOOK_SECRET_KEY is not set');
    const raw = Buffer.from(stored.slice(SEALED.length), 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    try {
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      throw new Error('the signing secret cannot be decrypted: WEBHOOK_SECRET_KEY differs from the one it was stored with');
    }
  }
}
