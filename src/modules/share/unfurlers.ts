import type { Request } from 'express';

/** Link unfurlers, crawlers and link checkers: their requests are neither views nor listens. */
const UNFURLERS =
  /bot\b|bot\/|crawler|spider|slurp|facebookexternalhit|facebookcatalog|embedly|quora link preview|outbrain|pinterest|vkshare|w3c_validator|whatsapp|skypeuripreview|iframely|bitlyapp|nuzzel|flipboard|tumblr|redditbot|mastodon|pleroma|akkoma|misskey|bluesky|cardyb|preview|validator|linkchecker|link checker/i;

export function isUnfurler(req: Request): boolean {
  const ua = req.headers['user-agent'];
  return typeof ua === 'string' && UNFURLERS.test(ua);
}
