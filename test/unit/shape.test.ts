// The code's shape (issue #14), kept by tests: no function in src/ longer than 80 lines, no
// import cycle (madge, type-only imports aside), and imports that run one way — entry points →
// rehearsal → phases → runbook/verify → machine → console — with the pure modules (diagnosis,
// the check table, the plan) importing no I/O layer.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import madge from 'madge';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../../src');

function sources(dir = SRC): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Functions (declarations, methods, arrows, expressions) longer than `max` lines, as `file:line name (n lines)`. */
export function longFunctions(file: string, text: string, max: number): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: string[] = [];
  const visit = (n: ts.Node) => {
    if (ts.isFunctionLike(n) && 'body' in n && n.body) {
      const start = sf.getLineAndCharacterOfPosition(n.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(n.getEnd()).line;
      const name = (n as { name?: ts.Node }).name?.getText(sf) ?? '(anonymous)';
      if (end - start + 1 > max) out.push(`${path.relative(SRC, file)}:${start + 1} ${name} (${end - start + 1} lines)`);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

describe('no function in src/ is longer than 80 lines', () => {
  it('finds a long one when there is one (the check can fail)', () => {
    const body = Array.from({ length: 81 }, (_, i) => `  const x${i} = ${i};`).join('\n');
    const found = longFunctions(path.join(SRC, 'x.ts'), `function big() {\n${body}\n}\n`, 80);
    expect(found).toEqual(['x.ts:1 big (83 lines)']);
    expect(longFunctions('x.ts', 'const f = () => {\n  return 1;\n};\n', 80)).toEqual([]);
  });

  it('holds for every file', () => {
    const long = sources().flatMap((f) => longFunctions(f, readFileSync(f, 'utf8'), 80));
    expect(long).toEqual([]);
  });
});

/** Layers: a module under `from` may not import one under any of `not`. Paths relative to src/. */
const RULES: Array<{ from: RegExp; not: RegExp; why: string }> = [
  { from: /^console\//, not: /^(qemu|phases|runbook|verify|diagnosis|reporters|cli|action|github)\/|^(rehearsal|recorder|cli|action)\.ts$/, why: 'the console is the bottom layer' },
  { from: /^qemu\//, not: /^(phases|runbook|verify|diagnosis|reporters|cli|action|github)\/|^(rehearsal|recorder|cli|action)\.ts$/, why: 'the machine knows consoles, not the runbook' },
  { from: /^(runbook|verify|roots)\//, not: /^(phases|reporters|cli|action|github)\/|^(rehearsal|recorder|cli|action)\.ts$/, why: 'the runbook and the checks are below the phases' },
  { from: /^phases\//, not: /^(cli|action|github|reporters)\/|^(rehearsal|cli|action)\.ts$/, why: 'phases are run by the rehearsal, not the other way' },
  { from: /^(rehearsal|recorder)\.ts$/, not: /^(cli|action|github)\/|^(cli|action)\.ts$/, why: 'entry points call the rehearsal' },
  // Pure: no VM, no console, no process.
  { from: /^diagnosis\/|^verify\/(checks|parsers|post-boot)\.ts$|^runbook\/(plan|parsers|layouts)\.ts$/, not: /^(qemu|phases)\/|^console\/(?!text\.ts$)|^(rehearsal|recorder)\.ts$/, why: 'pure logic does no I/O (console/text.ts is pure text)' },
];

describe('imports run one way (madge)', async () => {
  const graph = await madge(SRC, { fileExtensions: ['ts'], tsConfig: path.resolve(SRC, '../tsconfig.json'), detectiveOptions: { ts: { skipTypeImports: true } } });

  it('has no import cycle', () => {
    expect(graph.circular()).toEqual([]);
  });

  it('sees the modules (the check can fail: the rehearsal imports phases)', () => {
    const deps = graph.obj();
    expect(Object.keys(deps).length).toBeGreaterThan(50);
    expect(deps['rehearsal.ts']).toContain('phases/install.ts');
  });

  it('no layer imports one above it', () => {
    const bad: string[] = [];
    for (const [from, tos] of Object.entries(graph.obj())) {
      for (const r of RULES) if (r.from.test(from)) for (const to of tos) if (r.not.test(to)) bad.push(`${from} → ${to} (${r.why})`);
    }
    expect(bad).toEqual([]);
  });
});
