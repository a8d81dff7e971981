/** One line of the "add recipients" box: `Name <email>`, `Name`, or a bare `email`. */
export function parseRecipientLine(line: string): { name: string; email: string | null } {
  const text = line.trim();
  const angled = /^(.*?)\s*<\s*([^<>\s]*)\s*>$/.exec(text);
  if (angled) return { name: angled[1].replace(/^["']|["']$/g, '').trim() || angled[2], email: angled[2] || null };
  if (/^[^\s@]+@[^\s@]+$/.test(text)) return { name: text, email: text };
  return { name: text, email: null };
}
