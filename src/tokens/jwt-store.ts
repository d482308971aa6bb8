/**
 * JWTTokenApi: the token itself is a JWT whose `host` and `port` claims name the target (or whose `targets`
 * claim names a pool: tokens/host-port.ts). It is a JWS, or a JWE whose plaintext is a JWS (the inner
 * signature is always required: with an RSA key anybody holding the public key can encrypt). The key file is a PEM key (RSA, EC or Ed25519; a private key also serves to
 * decrypt), or else the text of a symmetric key in websockify's form: the JWK `k` value, base64url.
 */
import { createPrivateKey, createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { compactDecrypt, errors, jwtVerify } from 'jose';
import { AddressError } from '../address.js';
import { ConfigError, describeError, refuse } from '../errors.js';
import type { SocketTarget } from '../targets/registry.js';
import { type TargetFields, targetFromFields } from './host-port.js';
import type { TokenStore } from './store.js';

interface JwtKeys {
  /** Verifies signatures. */
  readonly verify: KeyObject;
  /** Decrypts JWEs; undefined for a public key, which can only verify. */
  readonly decrypt: KeyObject | undefined;
  readonly signAlgorithms: readonly string[];
  readonly encryptAlgorithms: readonly string[];
}

const ALGORITHMS: Record<string, { sign: string[]; encrypt: string[] }> = {
  secret: {
    sign: ['HS256', 'HS384', 'HS512'],
    encrypt: ['dir', 'A128KW', 'A192KW', 'A256KW', 'A128GCMKW', 'A192GCMKW', 'A256GCMKW'],
  },
  rsa: {
    sign: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'],
    encrypt: ['RSA-OAEP', 'RSA-OAEP-256'],
  },
  ec: {
    sign: ['ES256', 'ES384', 'ES512'],
    encrypt: ['ECDH-ES', 'ECDH-ES+A128KW', 'ECDH-ES+A192KW', 'ECDH-ES+A256KW'],
  },
  ed25519: { sign: ['EdDSA', 'Ed25519'], encrypt: [] },
};

/** Reads a JWT key file the way websockify does: PEM first, otherwise a symmetric key. */
export async function loadJwtKeys(file: string): Promise<JwtKeys> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (err) {
    throw new ConfigError(`JWT key file ${file}: ${describeError(err)}`, { cause: err });
  }
  const text = data.toString('utf8');
  if (text.includes('-----BEGIN')) {
    let verify: KeyObject;
    let decrypt: KeyObject | undefined;
    try {
      decrypt = createPrivateKey(text);
      verify = createPublicKey(decrypt);
    } catch {
      try {
        verify = createPublicKey(text);
        decrypt = undefined;
      } catch (err) {
        throw new ConfigError(`JWT key file ${file}: not a PEM key Node can read (${describeError(err)})`);
      }
    }
    const kind = verify.asymmetricKeyType ?? '';
    const algorithms = ALGORITHMS[kind === 'rsa-pss' ? 'rsa' : kind];
    if (!algorithms) throw new ConfigError(`JWT key file ${file}: unsupported key type ${kind}`);
    return { verify, decrypt, signAlgorithms: algorithms.sign, encryptAlgorithms: algorithms.encrypt };
  }
  const secret = Buffer.from(text.trim(), 'base64url');
  if (secret.length === 0) throw new ConfigError(`JWT key file ${file}: the key is empty`);
  const key = createSecretKey(secret);
  return {
    verify: key,
    decrypt: key,
    signAlgorithms: ALGORITHMS.secret!.sign,
    encryptAlgorithms: ALGORITHMS.secret!.encrypt,
  };
}

/**
 * @example
 * const store = await JwtTokenStore.open('/etc/wstcp/jwt.pem');
 * await store.lookup(jwt); // { kind: 'tcp', host: 'desk1', port: 5900 }, or throws 401 TOKEN_EXPIRED
 */
export class JwtTokenStore implements TokenStore {
  readonly description: string;
  private readonly keys: JwtKeys;

  private constructor(file: string, keys: JwtKeys) {
    this.description = `JWT key ${file}`;
    this.keys = keys;
  }

  static async open(keyFile: string): Promise<JwtTokenStore> {
    return new JwtTokenStore(keyFile, await loadJwtKeys(keyFile));
  }

  /** Unknown (undefined) for anything that is not a valid JWT for this key; 401 for expired or not yet valid. */
  async lookup(token: string): Promise<SocketTarget | undefined> {
    const parts = token.split('.').length;
    try {
      let jws = token;
      if (parts === 5) {
        if (!this.keys.decrypt) return undefined;
        const { plaintext } = await compactDecrypt(token, this.keys.decrypt, {
          keyManagementAlgorithms: [...this.keys.encryptAlgorithms],
        });
        jws = new TextDecoder().decode(plaintext);
      }
      if (jws.split('.').length !== 3) return undefined;
      const { payload } = await jwtVerify(jws, this.keys.verify, {
        algorithms: [...this.keys.signAlgorithms],
      });
      return targetFromFields(payload as TargetFields);
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw refuse('TOKEN_EXPIRED', 'the token has expired');
      if (err instanceof errors.JWTClaimValidationFailed && err.claim === 'nbf') {
        throw refuse('TOKEN_EXPIRED', 'the token is not valid yet');
      }
      if (err instanceof errors.JOSEError || err instanceof AddressError) return undefined;
      throw err;
    }
  }

  async close(): Promise<void> {}
}
