// Encryption at rest for TOTP secrets: AES-256-GCM with a key generated in the data dir on
// first start (DATADIR/mfa.key, mode 0600) or given as PORTCULLIS_MFA_KEY (base64, 32 bytes;
// several nodes sharing one database must share the key).
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PortcullisError } from '../../errors/index.ts';

export const MFA_KEY_ENV = 'PORTCULLIS_MFA_KEY';

export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  static load(dataDir: string, env: NodeJS.ProcessEnv = process.env): SecretBox {
    const fromEnv = env[MFA_KEY_ENV];
    if (fromEnv) {
      const key = Buffer.from(fromEnv, 'base64');
      if (key.length !== 32) throw new PortcullisError('ERR_CONFIG_INVALID', `${MFA_KEY_ENV}: must be 32 bytes in base64 (e.g. from \`openssl rand -base64 32\`)`);
      return new SecretBox(key);
    }
    const file = path.join(dataDir, 'mfa.key');
    if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
    const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new PortcullisError('ERR_IDENTITY_UNREADABLE', `${file}: not a 32-byte base64 key`);
    return new SecretBox(key);
  }

  static fromKey(key: Buffer): SecretBox {
    return new SecretBox(key);
  }

  /** base64(iv | tag | ciphertext); `context` (the user id) is bound as associated data. */
  seal(plain: Buffer, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  open(sealed: string, context: string): Buffer {
    const raw = Buffer.from(sealed, 'base64');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
    } catch (err) {
      throw new PortcullisError('ERR_MFA_KEY_MISMATCH', 'a stored TOTP secret cannot be decrypted with this MFA key', { cause: err });
    }
  }

  /** A keyed hash (recovery codes, used codes): useless to someone holding only the database. */
  mac(value: string): string {
    return createHmac('sha256', this.key).update(value).digest('hex');
  }
}
