import { BadRequestException, Injectable, Logger, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { textProblem } from '../text-rules';

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

/** The first string (key or value) that breaks the text rules, with its field path (`tracks.0.title`). */
export function refusedText(value: unknown): { field: string; problem: string } | null {
  const stack: Array<[unknown, string]> = [[value, '']];
  while (stack.length) {
    const [node, path] = stack.pop()!;
    if (typeof node === 'string') {
      const problem = textProblem(node);
      if (problem) return { field: path || 'body', problem };
    } else if (node !== null && typeof node === 'object') {
      for (const [key, child] of Object.entries(node as Record<string, unknown>)) {
        const field = path ? `${path}.${key}` : key;
        const problem = textProblem(key);
        if (problem) return { field, problem: `name ${problem}` };
        stack.push([child, field]);
      }
    }
  }
  return null;
}

/**
 * Every parsed body and query string is checked before any guard or handler reads it (Nest runs module middleware
 * after its body parsers):
 * - nesting: JSON.parse takes `[[[[…]]]]` thousands of levels deep in a 20 KB body, but the CSRF check and
 *   class-transformer walk bodies recursively and ran out of stack (a 500 and a stack trace for one anonymous
 *   request). Too deep answers 400 and logs one line.
 * - text: NUL, lone surrogates and direction overrides answer 400 naming the field (NUL reached PostgreSQL, whose
 *   refusal was taken for an outage: 503).
 */
@Injectable()
export class BodyChecksMiddleware implements NestMiddleware {
  private readonly logger = new Logger('BodyChecks');

  use(req: Request, _res: Response, next: NextFunction): void {
    const depth = nestingDepth(req.body, MAX_BODY_DEPTH);
    if (depth > MAX_BODY_DEPTH) {
      // The request's id, method and URL are on the line already (pino-http's child logger).
      this.logger.warn({ maxDepth: MAX_BODY_DEPTH }, 'request body nested too deeply');
      return next(
        new BadRequestException({
          message: `request body is nested too deeply (at most ${MAX_BODY_DEPTH} levels)`,
          field: 'body',
        }),
      );
    }
    const refused = refusedText(req.body) ?? refusedText(req.query);
    if (refused)
      return next(new BadRequestException({ message: `${refused.field} ${refused.problem}`, field: refused.field }));
    next();
  }
}
