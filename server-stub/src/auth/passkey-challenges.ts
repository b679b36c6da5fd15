/**
 * The challenges of passkey ceremonies, stored so that every instance knows them: handed out by
 * an options operation, used up by the first verify that names one (whatever its outcome), and
 * refused once expired. A registration's challenge belongs to the user who asked for it; a
 * sign-in's to nobody, since no username is asked. Expired ones are deleted as new ones come.
 */
import type { AppContext } from '../context';
import type { PasskeyChallengesTable } from '../store/schema';

/** How long the browser may wait for the user, and the challenge stays good. */
export const CEREMONY_TIMEOUT_MS = 5 * 60 * 1000;

type Ceremony = PasskeyChallengesTable['ceremony'];

export async function issueChallenge(
  context: AppContext,
  challenge: string,
  ceremony: Ceremony,
  userId: string | null,
): Promise<void> {
  const now = context.now();
  await context.db.deleteFrom('passkey_challenges').where('expires_at', '<=', now.toISOString()).execute();
  await context.db
    .insertInto('passkey_challenges')
    .values({
      challenge,
      ceremony,
      user_id: userId,
      expires_at: new Date(now.getTime() + CEREMONY_TIMEOUT_MS).toISOString(),
    })
    .execute();
}

/**
 * Uses up `challenge`: true when it was handed out for this ceremony (and this user), has not
 * expired and was not used before. Whoever deletes it uses it, so two verifies of one challenge
 * at once cannot both pass.
 */
export async function useChallenge(
  context: AppContext,
  challenge: string,
  ceremony: Ceremony,
  userId: string | null,
): Promise<boolean> {
  const used = await context.db
    .deleteFrom('passkey_challenges')
    .where('challenge', '=', challenge)
    .where('ceremony', '=', ceremony)
    .where((eb) => (userId === null ? eb('user_id', 'is', null) : eb('user_id', '=', userId)))
    .where('expires_at', '>', context.now().toISOString())
    .executeTakeFirst();
  return used.numDeletedRows > 0n;
}
