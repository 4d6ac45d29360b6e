// Types for host.mjs (plain JavaScript, shared by src/ and the scripts under vm/).
export function cacheDir(env?: NodeJS.ProcessEnv, opts?: { runner?: boolean }): string;
export function commandPath(cmd: string, env?: NodeJS.ProcessEnv): string | undefined;
export function hasCommand(cmd: string, env?: NodeJS.ProcessEnv): boolean;
export function missingPackages(tools: Record<string, string>, has?: (cmd: string) => boolean): string[];
export interface AptInstall {
  /** The argv that installs the packages now (as root or through `sudo -n`); undefined when it cannot. */
  run: string[] | undefined;
  /** The exact command for a person to run. */
  command: string;
  /** The apt-get line itself (what `run` and `command` run under `sh -c`). */
  line: string;
  packages: string[];
  /** True when the machine has no apt-get (not Debian or Ubuntu). */
  noApt?: boolean;
}
export function aptInstall(packages: string[], opts: { root: boolean; passwordlessSudo: boolean; aptGet?: boolean }): AptInstall | undefined;
