// What `nixos-rehearse --help` says after the commands: examples, the environment variables the
// tool reads, and the exit codes.
import { EXIT_CODES_HELP } from './exit-codes.js';
import { DEFAULT_ISO } from '../iso/default.js';

export const HELP_AFTER = `
Examples:
  nixos-rehearse run --flake .#server                        host server of the flake in ., on the NixOS 25.11 ISO
  nixos-rehearse run --flake .#server --layout zfs-mirror    the same on two mirrored disks
  nixos-rehearse run --flake .#server --json | jq .result    report.json on stdout; progress stays on stderr
  nixos-rehearse run --iso ./nixos.iso --flake ~/cfg#laptop  a local ISO
  nixos-rehearse demo                                        the fixture installer and flake: no configuration needed
  nixos-rehearse doctor                                      is this host ready (QEMU, OVMF, KVM)?

Progress and errors go to stderr; stdout holds only what --json asks for. The default ISO is
${DEFAULT_ISO}
(its sha256 is read from <url>.sha256 next to it).

Environment:
  NIXOS_REHEARSE_QEMU          the QEMU to run (default qemu-system-x86_64 on PATH)
  NIXOS_REHEARSE_QEMU_IMG      the qemu-img to run (default qemu-img on PATH)
  NIXOS_REHEARSE_XORRISO       the xorriso that reads the ISO's boot menu (default xorriso on PATH)
  NIXOS_REHEARSE_OVMF_CODE     the OVMF firmware pair, both set (default: found where distributions
  NIXOS_REHEARSE_OVMF_VARS       install it; OVMF or OVMF_FD: a Nix OVMF.fd output)
  NIXOS_REHEARSE_TIMEOUT_SCALE multiply every wait by this (default 1 under KVM, 5 × the speed factor under TCG)
  XDG_CACHE_HOME               the cache (ISOs, saved installers, the fixture) is $XDG_CACHE_HOME/nixos-rehearse
                               (default ~/.cache/nixos-rehearse)
  TMPDIR                       where each run's disks, sockets and key go (removed after the run)
  NO_COLOR                     any value: no colour (colour is used only on a terminal, and FORCE_COLOR=0 turns it off too)

${EXIT_CODES_HELP}
`;
