import { createPublicKey, type KeyObject } from 'node:crypto';
import { ConfigError } from '@oncehook/shared';

/**
 * Secrets that are not used as typed: Standard Webhooks' serialised keys. Decoded once at start-up;
 * one that cannot be decoded stops the ingest with a message naming its variable.
 */
export const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** `whsec_<base64>`, as Standard Webhooks serialises symmetric secrets (the prefix is optional). */
export function symmetricKey(serialised: string): Buffer {
  const encoded = serialised.replace(/^whsec_/, '');
  const key = Buffer.from(encoded, 'base64');
  if (!BASE64.test(encoded) || key.length === 0) throw new Error('must be whsec_ followed by base64');
  return key;
}

/** `whpk_<base64 of the raw 32-byte key>`, as Standard Webhooks serialises ed25519 public keys. */
export function ed25519PublicKey(serialised: string): KeyObject {
  const raw = Buffer.from(serialised.replace(/^whpk_/, ''), 'base64');
  if (raw.length !== 32) throw new Error('must be whpk_ followed by the base64 of a 32-byte ed25519 key');
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
    format: 'jwk',
  });
}

/** Decodes a configured value, reporting a bad one as a ConfigError naming the variable. */
export function configured<T>(variable: string, make: () => T): T {
  try {
    return make();
  } catch (err) {
    throw new ConfigError([`${variable}: ${(err as Error).message}`]);
  }
}
