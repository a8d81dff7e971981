import type { Response } from 'express';

/**
 * Irreversible actions ask first, without JavaScript: their button leads to a confirmation page (or the action
 * answers with it when posted without `confirm=yes`), whose form posts the same action again, confirmed.
 */
export interface Confirmation {
  /** Page title and heading, e.g. "Disable this link?" */
  heading: string;
  /** What happens, in the user's words. */
  message: string;
  /** What stays true afterwards, or a limit worth knowing. */
  caveat?: string;
  action: string;
  confirmLabel: string;
  cancelUrl: string;
  /** Other fields the action needs, posted along. */
  fields?: Record<string, string>;
  nav?: string;
}

export function isConfirmed(body: unknown): boolean {
  return (body as Record<string, unknown> | undefined)?.confirm === 'yes';
}

export function renderConfirmation(res: Response, confirmation: Confirmation, status = 200): void {
  res.status(status).render('dashboard/confirm', {
    title: confirmation.heading,
    nav: confirmation.nav,
    ...confirmation,
    fields: Object.entries(confirmation.fields ?? {}).map(([name, value]) => ({ name, value })),
  });
}
