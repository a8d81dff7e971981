import { BadRequestException, Injectable, Logger, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

/** Deeper than any body this API takes (a share's tracks → files is 3 levels). */
export const MAX_BODY_DEPTH = 32;

/** How deep a parsed body nests, counted without recursion (so the count itself can't run out of stack). */
export function nestingDepth(value: unknown, stopAt = Infinity): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    deepest = Math.max(deepest, depth);
    if (deepest > stopAt) return deepest;
    for (const child of Object.values(node as Record<string, unknown>)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return deepest;
}

/**
 * JSON.parse takes `[[[[…]]]]` a few thousand levels deep in a 20 KB body, but the CSRF check and class-transformer
 * walk bodies recursively and ran out of stack: a 500 and a stack trace in the log for one anonymous request. Bodies
 * are checked right after parsing (Nest runs module middleware after its body parsers): too deep answers 400 and
 * logs one line.
 */
@Injectable()
export class BodyDepthMiddleware implements NestMiddleware {
  private readonly logger = new Logger('BodyDepth');

  use(req: Request, _res: Response, next: NextFunction): void {
    const depth = nestingDepth(req.body, MAX_BODY_DEPTH);
    if (depth <= MAX_BODY_DEPTH) return next();
    // The request's id, method and URL are on the line already (pino-http's child logger).
    this.logger.warn({ maxDepth: MAX_BODY_DEPTH }, 'request body nested too deeply');
    next(new BadRequestException({ message: `request body is nested too deeply (at most ${MAX_BODY_DEPTH} levels)`, field: 'body' }));
  }
}
