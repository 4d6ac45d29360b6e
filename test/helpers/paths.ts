import path from 'node:path';

/** Test transcripts go to nixos-rehearse-out/test-logs/ (ignored by git, kept for debugging). */
export function testLogDir(name: string): string {
  return path.resolve('nixos-rehearse-out', 'test-logs', `${name}-${Date.now()}`);
}
