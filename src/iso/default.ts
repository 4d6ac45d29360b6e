// The installer ISO a rehearsal boots when none is given: one constant for the action (its `iso`
// input) and the CLI (`run --iso`). Pure.

/**
 * The NixOS 25.11 minimal installer, as the nixos.org download page links it: the channel's
 * `latest-` ISO. Its sha256 is the one published beside it as `<url>.sha256`, which
 * iso/source.ts reads when no sha256 is given (action input `iso-sha256`, CLI `--sha256`).
 */
export const DEFAULT_ISO = 'https://channels.nixos.org/nixos-25.11/latest-nixos-minimal-x86_64-linux.iso';
