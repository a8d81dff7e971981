/**
 * Text no field of ours needs and that does harm: NUL (PostgreSQL refuses it in text, which looked like an outage),
 * lone UTF-16 surrogates (not Unicode text: stored, they silently become U+FFFD) and the bidirectional embedding,
 * override and isolate controls U+202A–U+202E, U+2066–U+2069, which make `evil\u202Egnp.exe` read as `evilexe.png`.
 */
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why this text is refused, as the end of "<field> …", or null. */
export function textProblem(value: string): string | null {
  if (value.includes('\u0000')) return 'must not contain NUL characters';
  if (LONE_SURROGATE.test(value)) return 'must be valid Unicode text (it contains a lone surrogate)';
  if (BIDI_CONTROLS.test(value))
    return 'must not contain Unicode direction override characters (U+202A–U+202E, U+2066–U+2069)';
  return null;
}
