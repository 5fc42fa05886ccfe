// The key the built-in token service signs with: a PEM private key from the config (EC P-256 → ES256,
// RSA → RS256), or DATA/auth/token-key.pem, generated (EC P-256) on first start and kept 0600.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type SigningAlgorithm = 'ES256' | 'RS256';

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  alg: SigningAlgorithm;
  /**
   * Key id put in token headers, in the form Distribution and docker_auth use (libtrust): the first 240 bits
   * of the SHA-256 of the DER public key, base32 without padding, in groups of four joined by colons. With
   * it, Distribution configured with a certificate of this key (`rootcertbundle`) accepts Wharf's tokens.
   */
  kid: string;
  /** Where the key was read from. */
  path: string;
}

export class SigningKeyError extends Error {
  override name = 'SigningKeyError';
}

const base32Alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = ((value << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += base32Alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += base32Alphabet[(value << (5 - bits)) & 31];
  return out;
}

export function libtrustKeyId(spkiDer: Uint8Array): string {
  const encoded = base32(createHash('sha256').update(spkiDer).digest().subarray(0, 30));
  return encoded.match(/.{1,4}/g)!.join(':');
}

export function defaultKeyPath(dataDir: string): string {
  return join(dataDir, 'auth', 'token-key.pem');
}

export function signingKeyFromPem(pem: string, path: string): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (e) {
    throw new SigningKeyError(`token key ${path} is not a PEM private key: ${(e as Error).message}`);
  }
  let alg: SigningAlgorithm;
  if (privateKey.asymmetricKeyType === 'ec' && privateKey.asymmetricKeyDetails?.namedCurve === 'prime256v1') alg = 'ES256';
  else if (privateKey.asymmetricKeyType === 'rsa' && (privateKey.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048) alg = 'RS256';
  else throw new SigningKeyError(`token key ${path} must be an EC P-256 key (ES256) or an RSA key of at least 2048 bits (RS256)`);
  const publicKey = createPublicKey(privateKey);
  const der = publicKey.export({ type: 'spki', format: 'der' });
  const kid = libtrustKeyId(der);
  return { privateKey, publicKey, alg, kid, path };
}

/** Loads the configured key (which must exist), or the data directory's (generated when absent). */
export function loadSigningKey(configured: string | undefined, dataDir: string): SigningKey {
  if (configured !== undefined) {
    let pem: string;
    try {
      pem = readFileSync(configured, 'utf8');
    } catch (e) {
      throw new SigningKeyError(`cannot read token key ${configured}: ${(e as Error).message}`);
    }
    return signingKeyFromPem(pem, configured);
  }
  const path = defaultKeyPath(dataDir);
  if (!existsSync(path)) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // 'wx': if another process created it meanwhile, keep theirs.
    try {
      writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new SigningKeyError(`cannot write token key ${path}: ${(e as Error).message}`);
    }
  }
  return signingKeyFromPem(readFileSync(path, 'utf8'), path);
}
