import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const VNU = join(__dirname, '../../node_modules/vnu-jar/build/dist/vnu.jar');
const run = promisify(execFile);

/** Nu HTML Checker errors per document (one JVM for all of them; warnings are not errors). */
export async function vnuErrors(pages: Record<string, string>): Promise<Record<string, string[]>> {
  const dir = mkdtempSync(join(tmpdir(), 'pd-vnu-'));
  try {
    const files = Object.entries(pages).map(([name, html]) => {
      const file = join(dir, `${name}.html`);
      writeFileSync(file, html);
      return file;
    });
    // vnu exits non-zero when it finds errors; the JSON report is on stderr either way.
    const result = await run('java', ['-jar', VNU, '--errors-only', '--format', 'json', ...files]).catch(
      (err: { stderr?: string; code?: unknown }) => {
        if (err.code === 'ENOENT')
          throw new Error('java is not installed: the Nu HTML Checker (vnu-jar) needs a Java runtime');
        return err;
      },
    );
    // No report at all means the checker did not run: never a silent pass.
    if (!result.stderr) throw new Error('vnu printed no report');
    const report = JSON.parse(result.stderr) as {
      messages: Array<{ type: string; url: string; message: string; extract?: string }>;
    };
    const byPage: Record<string, string[]> = Object.fromEntries(
      Object.keys(pages).map((name) => [name, [] as string[]]),
    );
    for (const m of report.messages) {
      if (m.type !== 'error') continue;
      // `controlslist="nodownload"` (WICG) takes Download out of Chromium's player menu; not in the HTML standard yet.
      if (
        /^Attribute “controlslist” not allowed on element “audio”/.test(m.message) &&
        /controlslist="nodownload"/.test(m.extract ?? '')
      )
        continue;
      const name = decodeURIComponent(m.url.split('/').pop() ?? '').replace(/\.html$/, '');
      (byPage[name] ??= []).push(`${m.message} ${m.extract ?? ''}`.trim());
    }
    return byPage;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
