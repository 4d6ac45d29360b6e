// Guest text in the runner's log cannot issue workflow commands (#15 item 11).
import { describe, expect, it } from 'vitest';
import { neutraliseWorkflowCommands } from '../../src/action/log-text.js';

describe('neutraliseWorkflowCommands', () => {
  // What a guest could print, as the serial tail of an error or a check's output.
  const hostile = ['::add-mask::ghs_secret', '  ::error title=PASS::all good', '::stop-commands::tok', '::set-output name=result::pass', '##[set-output name=result;]pass', 'text ##[error]x'];

  it('leaves no line the runner would read as a command (v2 `::` at a line start, v1 `##[` anywhere)', () => {
    const out = neutraliseWorkflowCommands(hostile.join('\n')).split('\n');
    expect(out).toHaveLength(hostile.length);
    for (const l of out) {
      expect(l.trimStart().startsWith('::')).toBe(false);
      expect(l).not.toContain('##[');
    }
    // A reader sees the same characters, bar the invisible zero-width space.
    expect(out.map((l) => l.replaceAll('\u200b', ''))).toEqual(hostile);
  });

  it('leaves ordinary text alone, colons included', () => {
    const text = 'Task 12: nixos-install\nboot in 5 s: ok\n  ✓ ssh-login   logged in as rehearse\nC:: not at the start';
    expect(neutraliseWorkflowCommands(text)).toBe(text);
  });
});
