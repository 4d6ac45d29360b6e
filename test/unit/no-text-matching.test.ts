// #14 item 3, errors as data: no diagnosis rule and no caller in src/ reads an error's message or
// a check's summary with a regex. Rules match error kinds and fields (src/errors.ts) and check
// reason codes (src/verify/checks.ts CheckReasons); regexes over what the guest printed (step
// output, check evidence, the serial console, a playbook's output) stay.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(__dirname, '../../src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The text between the parenthesis at `open` and its match. */
function argAt(text: string, open: number): string {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0) return text.slice(open + 1, i);
  }
  return text.slice(open + 1);
}

/** An expression that is an error's message or a check's summary (not a field of an error record). */
const TEXT_OF_ERROR = /[.?]\s*(?:message|summary)\b|[.?]\s*error\b(?!\s*[?!]?\.)|^\s*\(?\s*(?:error|err|e)\s*(?:as [^)]*)?\)?\s*(?:\?\?.*)?$/;

/** Every `re.test(x)` / `re.exec(x)` whose x is error or summary text, and `x.match(…)` on such an x. */
export function textMatches(source: string): string[] {
  const hits: string[] = [];
  for (const m of source.matchAll(/\.(?:test|exec)\(/g)) {
    const arg = argAt(source, m.index! + m[0].length - 1);
    if (TEXT_OF_ERROR.test(arg)) hits.push(`${m[0]}${arg})`);
  }
  for (const m of source.matchAll(/(?:[.?]\s*(?:message|summary|error)|\berror)\s*[?!]?\.(?:match|matchAll|search)\(/g)) hits.push(m[0]);
  return hits;
}

describe('errors as data: no regex reads an error message or a check summary', () => {
  it('the detector finds the shapes it is for', () => {
    expect(textMatches('if (/QEMU exited/.test(c.error)) x();')).toHaveLength(1);
    expect(textMatches("const m = /checksum mismatch for (.+?)/.exec(c.error);")).toHaveLength(1);
    expect(textMatches("if (e instanceof IsoError && /HTTP 4\\d\\d/.test(e.message)) throw e;")).toHaveLength(1);
    expect(textMatches("if (/expected at least 2/.test(c.failed.get('x')?.summary ?? '')) y();")).toHaveLength(1);
    expect(textMatches('const tail = /^--- serial ---$/m.exec(error);')).toHaveLength(1);
    expect(textMatches('e.message.match(/x/)')).toHaveLength(1);
    // What the guest printed is fair game, and so are an error record's fields.
    expect(textMatches('NO_SPACE.test(s.outputTail); ESP_ERROR.exec(t12.outputTail); /Permission denied/.test(x.evidence); c.error?.serialTail?.split("\\n").find((l) => NO_SPACE.test(l));')).toEqual([]);
  });

  // Not the engine's errors: GitHub's REST API says a token lacks a permission only in words
  // (a 403 is also a rate limit), so that text is the only evidence there is.
  const ALLOWED: Record<string, string[]> = { 'github/comment.ts': ['.test(String((e as ApiError).message))'] };
  const all = files(SRC);
  it.each(all.map((f) => [path.relative(SRC, f), f]))('%s', (rel, file) => {
    expect(textMatches(readFileSync(file, 'utf8')).filter((h) => !(ALLOWED[rel] ?? []).includes(h))).toEqual([]);
  });
});
