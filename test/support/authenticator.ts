/**
 * A software WebAuthn authenticator for the SDK-level passkey tests: real P-256 keys and ECDSA
 * signatures (node:crypto), real CBOR (the server library's own encoder), `none` attestation, as a
 * platform authenticator that verifies its user. It answers the options of the API the way
 * `navigator.credentials.create()` / `.get()` and their `toJSON()` would, and lets a test change
 * what a browser would never send: another origin, a counter that goes backwards. (The browser
 * test, test/passkeys-browser.test.ts, runs the same ceremonies in Chromium.)
 */
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { isoBase64URL, isoCBOR } from '@simplewebauthn/server/helpers';
import {
  type Client,
  createPasskeyRegistrationOptions,
  type PasskeyAuthenticationCredential,
  type PasskeyAuthenticationOptions,
  type PasskeyRegistrationCredential,
  type PasskeyRegistrationOptions,
  verifyPasskeyRegistration,
} from '@meridian/sdk';
import { ok, type TestServer } from './server';

/** Authenticator data flags: user present, user verified, attested credential data included. */
const UP = 0x01;
const UV = 0x04;
const AT = 0x40;
/** COSE: key type EC2, algorithm ES256, curve P-256. */
const COSE = { kty: 1, alg: 3, crv: -1, x: -2, y: -3, EC2: 2, ES256: -7, P256: 1 } as const;

interface StoredCredential {
  id: Buffer;
  privateKey: KeyObject;
  rpId: string;
  userHandle: string;
  counter: number;
}

const sha256 = (data: Buffer | string): Buffer => createHash('sha256').update(data).digest();
const b64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');

function counterBytes(counter: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(counter);
  return bytes;
}

function clientData(type: 'webauthn.create' | 'webauthn.get', challenge: string, origin: string): Buffer {
  return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
}

export class SoftwareAuthenticator {
  /** The passkeys it holds, newest last. */
  readonly credentials: StoredCredential[] = [];

  /** `origin`: the page's origin the browser would report (the server's own, for the tests). */
  constructor(private readonly origin: string) {}

  /**
   * Creates a passkey for the options' user, as navigator.credentials.create() would; `id` gives
   * it a credential ID of the test's choosing (one already registered, say).
   */
  register(
    options: PasskeyRegistrationOptions,
    { origin = this.origin, id = randomBytes(16) }: { origin?: string; id?: Buffer } = {},
  ): PasskeyRegistrationCredential {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const cosePublicKey = isoCBOR.encode(
      new Map<number, number | Uint8Array>([
        [COSE.kty, COSE.EC2],
        [COSE.alg, COSE.ES256],
        [COSE.crv, COSE.P256],
        [COSE.x, isoBase64URL.toBuffer(jwk.x!)],
        [COSE.y, isoBase64URL.toBuffer(jwk.y!)],
      ]),
    );
    const credential: StoredCredential = {
      id,
      privateKey,
      rpId: options.rp.id,
      userHandle: options.user.id,
      counter: 0,
    };
    this.credentials.push(credential);
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(credential.id.length);
    const authData = Buffer.concat([
      sha256(credential.rpId),
      Buffer.of(UP | UV | AT),
      counterBytes(0),
      Buffer.alloc(16), // AAGUID: none
      idLength,
      credential.id,
      cosePublicKey,
    ]);
    const attestationObject = isoCBOR.encode(
      new Map<string, unknown>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', authData],
      ]) as never,
    );
    return {
      id: b64url(credential.id),
      rawId: b64url(credential.id),
      response: {
        clientDataJSON: b64url(clientData('webauthn.create', options.challenge, origin)),
        attestationObject: b64url(attestationObject),
        transports: ['internal'],
      },
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
      type: 'public-key',
    };
  }

  /**
   * Signs the options' challenge with a passkey it holds (the newest by default), as
   * navigator.credentials.get() would; `counter` replaces the next value of its signature counter.
   */
  authenticate(
    options: PasskeyAuthenticationOptions,
    {
      credential = this.credentials.at(-1)!,
      origin = this.origin,
      counter = credential.counter + 1,
    }: { credential?: StoredCredential; origin?: string; counter?: number } = {},
  ): PasskeyAuthenticationCredential {
    credential.counter = counter;
    const authData = Buffer.concat([sha256(options.rpId), Buffer.of(UP | UV), counterBytes(counter)]);
    const clientDataJSON = clientData('webauthn.get', options.challenge, origin);
    const signature = sign(
      'sha256',
      Buffer.concat([authData, sha256(clientDataJSON)]),
      credential.privateKey,
    );
    return {
      id: b64url(credential.id),
      rawId: b64url(credential.id),
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        userHandle: credential.userHandle,
      },
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
      type: 'public-key',
    };
  }
}

/** The origin a test server expects ceremonies from by default: its own address on localhost. */
export const ownOrigin = (t: TestServer): string => `http://localhost:${new URL(t.url).port}`;

/** Registers a passkey of `client`'s user on `authenticator`; the passkey as the API shows it. */
export async function registerPasskey(client: Client, authenticator: SoftwareAuthenticator, name?: string) {
  const options = ok(await createPasskeyRegistrationOptions({ client }));
  const credential = authenticator.register(options);
  return ok(await verifyPasskeyRegistration({ client, body: { credential, ...(name ? { name } : {}) } }));
}
