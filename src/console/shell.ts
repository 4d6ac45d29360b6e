// A shell session in the guest over a Console: run(cmd) -> {exitCode, output}, succeed(cmd).
// The framing is in protocol.ts (and why it is built that way).
import { kindOf } from '../errors.js';
import { type Console, ConsoleTimeoutError } from './console.js';
import { type CommandResult, type Frame, frameCommand, newNonce, parseFrame } from './protocol.js';

/**
 * A command as errors, logs and reports show it: whole up to `max` characters, else its start
 * and end around the count left out (a copy's base64 payload is hundreds of kilobytes).
 */
export function shortCommand(command: string, max = 300): string {
  if (command.length <= max) return command;
  const keep = Math.floor((max - 40) / 2);
  return `${command.slice(0, keep)} …(${command.length - 2 * keep} characters)… ${command.slice(-keep)}`;
}

export class CommandFailedError extends Error {
  constructor(
    readonly command: string,
    readonly result: CommandResult,
  ) {
    const tail = result.output.split('\n').slice(-30).join('\n');
    super(`command failed with exit code ${result.exitCode}: ${shortCommand(command)}\n--- last output ---\n${tail}`);
    this.name = 'CommandFailedError';
  }
}

export interface ShellOptions {
  /** Default time a command may take, in ms (already scaled for the accelerator). */
  timeoutMs?: number;
  /** Nonce source (tests replaying a recorded transcript pass a fixed sequence). */
  nonce?: () => string;
  /** Called with each command before it runs (for the run log). */
  onCommand?: (cmd: string) => void;
}

export class Shell {
  private queue: Promise<unknown> = Promise.resolve();
  private broken?: Error;

  constructor(
    readonly console: Console,
    private opts: ShellOptions = {},
  ) {}

  /** Runs `command` with `sh` in the guest; never throws for a non-zero exit code. */
  run(command: string, opts: { timeoutMs?: number } = {}): Promise<CommandResult> {
    // One command at a time on a console: chain them.
    const p = this.queue.then(() => this.runNow(command, opts.timeoutMs ?? this.opts.timeoutMs ?? 60_000));
    this.queue = p.catch(() => {});
    return p;
  }

  /** Runs `command` and returns its output; throws CommandFailedError on a non-zero exit code. */
  async succeed(command: string, opts: { timeoutMs?: number } = {}): Promise<string> {
    const r = await this.run(command, opts);
    if (r.exitCode !== 0) throw new CommandFailedError(command, r);
    return r.output;
  }

  /** Runs `command` and throws unless it fails (non-zero exit code). */
  async fail(command: string, opts: { timeoutMs?: number } = {}): Promise<string> {
    const r = await this.run(command, opts);
    if (r.exitCode === 0) throw new Error(`command succeeded but was expected to fail: ${command}\n${r.output}`);
    return r.output;
  }

  get isBroken(): boolean {
    return this.broken !== undefined;
  }

  private async runNow(command: string, timeoutMs: number): Promise<CommandResult> {
    if (this.broken) throw new Error(`shell on ${this.console.name} is unusable after an earlier error: ${this.broken.message.split('\n')[0]}`);
    this.opts.onCommand?.(command);
    const frame: Frame = frameCommand(command, (this.opts.nonce ?? newNonce)());
    let start: number | undefined;
    const done = this.console.waitUntil(
      (text, seen) => {
        // Search only what is new (frames can be megabytes long); the shell owns its console
        // while a command runs, so positions in `text` stay put between calls.
        const r = parseFrame(text, frame, { from: seen, start });
        if (!r.done) {
          start = r.start;
          return undefined;
        }
        return { consumed: r.consumed, value: r.result };
      },
      timeoutMs,
      `the end of: ${shortCommand(command, 160)}`,
    );
    done.catch(() => {}); // observed below; a write error must not leave it unhandled
    try {
      for (const line of frame.lines) this.console.write(line);
      return await done;
    } catch (e) {
      // After a timeout the guest shell may still be running the command: nothing later can
      // trust it. The machine starts a new control shell when it needs one.
      if (e instanceof ConsoleTimeoutError || kindOf(e) !== 'protocol') this.broken = e as Error;
      throw e;
    }
  }
}

/**
 * Waits until the login shell on `console` runs what is typed: a harmless `printf` is typed again
 * every `retryMs` until its output (never its echo) comes back, or `timeoutMs` ends. What is typed
 * between the autologin line and the shell's first prompt can be lost: login(1) sets the terminal
 * up with TCSAFLUSH (util-linux login.c init_tty), discarding input already queued, and a slow
 * login (pam_systemd starting the user's systemd manager) widens that window.
 */
export async function untilShellAnswers(console: Console, nonce: string, timeoutMs: number, retryMs: number): Promise<void> {
  const want = new RegExp(`sy${nonce}nc`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    console.write(`printf 'sy%snc\\n' ${nonce}\n`);
    try {
      await console.waitFor(want, Math.max(1, Math.min(retryMs, deadline - Date.now())));
      return;
    } catch (e) {
      if (!(e instanceof ConsoleTimeoutError) || Date.now() >= deadline) throw e;
    }
  }
}
