/**
 * Dropbox's `common.EmailAddress` (Stone spec): the only addresses `sharing/add_folder_member` takes. One address
 * that fails it makes the whole call answer HTTP 400 and invites nobody, so it is checked where addresses are
 * entered and again before inviting. Accented letters, IDN domains, `~`, `!` … are all refused.
 */
export const DROPBOX_EMAIL_PATTERN = /^['#&A-Za-z0-9._%+-]+@[A-Za-z0-9-][A-Za-z0-9.-]*\.[A-Za-z]{2,15}$/;
const DROPBOX_EMAIL_MAX = 255;

export const DROPBOX_EMAIL_RULE =
  "Dropbox accepts only plain ASCII addresses: letters, digits and . _ % + - ' # & before the @, no accents or other symbols";

/** Why Dropbox would refuse this address for an invitation, or null when it takes it. */
export function dropboxEmailProblem(email: string): string | null {
  if (email.length > DROPBOX_EMAIL_MAX || !DROPBOX_EMAIL_PATTERN.test(email)) return DROPBOX_EMAIL_RULE;
  return null;
}
