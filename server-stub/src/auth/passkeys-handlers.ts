/**
 * Passkeys (WebAuthn) with @simplewebauthn/server: registering one for the signed-in user, signing
 * in with one without a username (discoverable credentials), and listing, renaming and deleting
 * one's own. Each ceremony's challenge is handed out by its options operation, stored until it
 * expires, and used up by the first verify that names it (auth/passkey-challenges.ts). The
 * library checks the rest: the origin against the allowed ones, the relying party ID, user
 * presence and verification, the signature, and the signature counter (a counter that does not
 * move forward is a cloned authenticator or a replay).
 */
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import { decodeClientDataJSON, isoBase64URL, isoUint8Array } from '@simplewebauthn/server/helpers';
import { initServer } from '@ts-rest/express';
import type { Request } from 'express';
import type { z } from 'zod';
import type { AppContext } from '../context';
import { contract, type Passkey } from '../generated/contract.gen';
import { paginate } from '../http/pagination';
import { principalOf } from '../http/principal';
import { type ApiError, problems } from '../http/problem';
import { oneOrNotFound } from '../store/found';
import { newId } from '../store/ids';
import type { PasskeyRow } from '../store/schema';
import { requireSession } from './auth-handlers';
import { recordFailure } from './lockout';
import { completeChallenge } from './mfa-challenges';
import { CEREMONY_TIMEOUT_MS, issueChallenge, useChallenge } from './passkey-challenges';
import { completeSignIn } from './sign-in';

type ApiPasskey = z.infer<typeof Passkey>;

/** The transports stored with a passkey (a JSON array). */
const transportsOf = (row: Pick<PasskeyRow, 'transports'>): ApiPasskey['transports'] =>
  JSON.parse(row.transports) as ApiPasskey['transports'];

function toPasskey(row: PasskeyRow): ApiPasskey {
  return {
    id: row.id,
    name: row.name,
    created_at: row.created_at,
    last_used_at: row.last_used_at,
    backed_up: row.backed_up === 1,
    device_type: row.device_type,
    transports: transportsOf(row),
  };
}

/**
 * The origins whose pages may run the ceremonies: the setting, else `https://<rpId>`, or for
 * `localhost` this server's own address on it (development).
 */
function expectedOrigins(context: AppContext, req: Request): string[] {
  const { rpId, origins } = context.webauthn;
  if (origins !== undefined) return [...origins];
  return [rpId === 'localhost' ? `http://localhost:${req.socket.localPort}` : `https://${rpId}`];
}

/** The challenge a credential's client data signed (the key to the stored one), or null if unreadable. */
function signedChallenge(clientDataJSON: string): string | null {
  try {
    const { challenge } = decodeClientDataJSON(clientDataJSON);
    return typeof challenge === 'string' ? challenge : null;
  } catch {
    return null;
  }
}

const CHALLENGE_INVALID =
  'The challenge is unknown, used, expired or not for this ceremony: ask for new options and try again.';

/** A verification the library refused, as the ceremony's problem (its reason in the detail). */
function verificationFailed(status: 401 | 422, error: unknown): ApiError {
  const reason = error instanceof Error ? error.message : 'the response does not verify';
  const detail = `The passkey's response does not verify: ${reason}`.slice(0, 500);
  return status === 401
    ? problems.unauthenticated('passkey_verification_failed', detail)
    : problems.unprocessable('passkey_verification_failed', detail);
}

export function passkeysHandlers(context: AppContext) {
  const { db } = context;
  const { rpId } = context.webauthn;

  const findOwn = (userId: string, id: string) =>
    oneOrNotFound(
      db.selectFrom('passkeys').selectAll().where('id', '=', id).where('user_id', '=', userId),
      'passkey',
      id,
    );

  return initServer().router(contract.passkeys, {
    createPasskeyRegistrationOptions: async ({ req }) => {
      const principal = principalOf(req);
      requireSession(principal, 'Registering a passkey');
      const { user } = principal;
      const registered = await db
        .selectFrom('passkeys')
        .select(['credential_id', 'transports'])
        .where('user_id', '=', user.id)
        .execute();
      // Its passkeys already registered, so that an authenticator is not registered twice.
      const excludeCredentials = registered.map((passkey) => ({
        id: passkey.credential_id,
        type: 'public-key',
        transports: transportsOf(passkey),
      }));
      const options = await generateRegistrationOptions({
        rpName: 'Meridian',
        rpID: rpId,
        userName: user.username,
        userID: isoUint8Array.fromUTF8String(user.id),
        userDisplayName: user.display_name,
        timeout: CEREMONY_TIMEOUT_MS,
        attestationType: 'none',
        excludeCredentials,
        authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
      });
      await issueChallenge(context, options.challenge, 'registration', user.id);
      return {
        status: 200,
        body: { ...options, rp: { name: options.rp.name, id: rpId }, excludeCredentials },
      };
    },

    verifyPasskeyRegistration: async ({ body, req }) => {
      const principal = principalOf(req);
      requireSession(principal, 'Registering a passkey');
      const { credential } = body;
      const challenge = signedChallenge(credential.response.clientDataJSON);
      if (challenge === null || !(await useChallenge(context, challenge, 'registration', principal.user.id)))
        throw problems.unprocessable('passkey_challenge_invalid', CHALLENGE_INVALID);
      const verification = await verifyRegistrationResponse({
        response: credential,
        expectedChallenge: challenge,
        expectedOrigin: expectedOrigins(context, req),
        expectedRPID: rpId,
        requireUserVerification: true,
      }).catch((error: unknown) => {
        throw verificationFailed(422, error);
      });
      if (!verification.verified) throw verificationFailed(422, undefined);
      const info = verification.registrationInfo;
      const taken = await db
        .selectFrom('passkeys')
        .select('id')
        .where('credential_id', '=', info.credential.id)
        .executeTakeFirst();
      if (taken) throw problems.conflict('passkey_already_registered', 'This passkey is already registered.');
      const now = context.now().toISOString();
      const row: PasskeyRow = {
        id: newId('psk'),
        user_id: principal.user.id,
        credential_id: info.credential.id,
        public_key: isoBase64URL.fromBuffer(info.credential.publicKey),
        counter: info.credential.counter,
        transports: JSON.stringify(credential.response.transports ?? []),
        device_type: info.credentialDeviceType === 'multiDevice' ? 'multi_device' : 'single_device',
        backed_up: info.credentialBackedUp ? 1 : 0,
        name: body.name ?? `Passkey (${now.slice(0, 10)})`,
        created_at: now,
        last_used_at: null,
      };
      await db.insertInto('passkeys').values(row).execute();
      return { status: 201, body: toPasskey(row) };
    },

    createPasskeyAuthenticationOptions: async () => {
      const options = await generateAuthenticationOptions({
        rpID: rpId,
        timeout: CEREMONY_TIMEOUT_MS,
        userVerification: 'required',
      });
      await issueChallenge(context, options.challenge, 'authentication', null);
      return { status: 200, body: { ...options, rpId } };
    },

    verifyPasskeyAuthentication: async ({ body, req, res }) => {
      const { credential } = body;
      const challenge = signedChallenge(credential.response.clientDataJSON);
      if (challenge === null || !(await useChallenge(context, challenge, 'authentication', null)))
        throw problems.unauthenticated('passkey_challenge_invalid', CHALLENGE_INVALID);
      const passkey = await db
        .selectFrom('passkeys')
        .selectAll()
        .where('credential_id', '=', credential.id)
        .executeTakeFirst();
      if (!passkey)
        throw problems.unauthenticated(
          'passkey_unknown',
          'This passkey is not registered with Meridian (it may have been deleted).',
        );
      const user = await db
        .selectFrom('users')
        .selectAll()
        .where('id', '=', passkey.user_id)
        .executeTakeFirstOrThrow();
      // A known passkey that does not verify is a failed sign-in of its user, as a wrong password is.
      const failed = async (error: unknown) => {
        await recordFailure(context, user.username);
        return verificationFailed(401, error);
      };
      // A discoverable credential names its user: it must be the passkey's.
      const { userHandle } = credential.response;
      if (userHandle !== undefined && userHandle !== isoBase64URL.fromUTF8String(passkey.user_id))
        throw await failed(new Error('the user handle names another user than the passkey does'));
      const verification = await verifyAuthenticationResponse({
        response: credential,
        expectedChallenge: challenge,
        expectedOrigin: expectedOrigins(context, req),
        expectedRPID: rpId,
        credential: {
          id: passkey.credential_id,
          publicKey: isoBase64URL.toBuffer(passkey.public_key),
          counter: Number(passkey.counter),
          transports: transportsOf(passkey),
        },
        requireUserVerification: true,
      }).catch(async (error: unknown) => {
        throw await failed(error);
      });
      if (!verification.verified) throw await failed(undefined);
      const { newCounter, credentialBackedUp } = verification.authenticationInfo;
      await db
        .updateTable('passkeys')
        .set({
          counter: newCounter,
          backed_up: credentialBackedUp ? 1 : 0,
          last_used_at: context.now().toISOString(),
        })
        .where('id', '=', passkey.id)
        .execute();
      if (user.disabled) throw problems.unauthenticated('invalid_credentials', 'This account is disabled.');
      // Completing a sign-in that waits for its second factor: the passkey must be the challenged user's.
      const { method, rememberMe } =
        body.mfa_challenge === undefined
          ? { method: 'passkey' as const, rememberMe: false }
          : await completeChallenge(
              context,
              body.mfa_challenge,
              async (challenged) => challenged.id === user.id,
              () =>
                problems.unauthenticated(
                  'passkey_user_mismatch',
                  'This passkey belongs to another user than the one the MFA challenge is for.',
                ),
            );
      const signedIn = await completeSignIn(context, {
        req,
        res,
        user,
        method,
        rememberMe,
        mfaSatisfied: true,
      });
      return { status: 200, body: signedIn };
    },

    listPasskeys: async ({ query, req }) => {
      const principal = principalOf(req);
      requireSession(principal, 'Listing your passkeys');
      const own = db.selectFrom('passkeys').selectAll().where('user_id', '=', principal.user.id);
      return { status: 200, body: await paginate(query, own, toPasskey) };
    },

    updatePasskey: async ({ params, body, req }) => {
      const principal = principalOf(req);
      requireSession(principal, 'Renaming a passkey');
      const passkey = await findOwn(principal.user.id, params.passkey_id);
      await db.updateTable('passkeys').set({ name: body.name }).where('id', '=', passkey.id).execute();
      return { status: 200, body: toPasskey({ ...passkey, name: body.name }) };
    },

    deletePasskey: async ({ params, req }) => {
      const principal = principalOf(req);
      requireSession(principal, 'Deleting a passkey');
      const passkey = await findOwn(principal.user.id, params.passkey_id);
      await db.deleteFrom('passkeys').where('id', '=', passkey.id).execute();
      return { status: 204, body: undefined };
    },
  });
}
