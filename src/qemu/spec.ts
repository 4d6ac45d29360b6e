// The typed description of a VM that the engine starts. Pure data.

export type Accel = 'kvm' | 'tcg';

export interface DiskSpec {
  /** QEMU id (also the qcow2 file name): letters, digits, '-' and '_'. */
  id: string;
  /** The NVMe serial the guest sees: /dev/disk/by-id/nvme-QEMU_NVMe_Ctrl_<serial>. */
  serial: string;
  /** Path of the qcow2 image (created by the engine, see disks.ts). */
  path: string;
  /** bootindex for OVMF (lower boots first); omitted: not in the firmware's boot order. */
  bootIndex?: number;
}

export interface DirectKernelBoot {
  kernel: string;
  initrd?: string;
  append?: string;
}

export interface MachineSpec {
  name: string;
  memoryMiB: number;
  cpus: number;
  accel: Accel;
  firmware: { code: string; vars: string };
  disks: DiskSpec[];
  /** An ISO attached as a CD-ROM (read-only). */
  iso?: { path: string; bootIndex?: number };
  kernelBoot?: DirectKernelBoot;
  /** Host TCP port (on 127.0.0.1) forwarded to the guest's port 22. */
  sshHostPort?: number;
  /**
   * What the guest may reach through its NIC (QEMU's user network): `nat` (default) the
   * outside world through the host's NAT, and with it the host's own loopback services at
   * 10.0.2.2 (QEMU cannot exclude them); `none` nothing at all (`restrict=on`): neither the host
   * nor the outside; `public` nothing directly either (`restrict=on`), and an HTTP proxy at
   * 10.0.2.100:3128 (one `guestfwd` whose `cmd:` is `egress.command`, run per connection) that
   * reaches only public addresses (egress/relay.ts). Always, DHCP gives the NIC its address and
   * the SSH forward reaches it.
   */
  network?: 'nat' | 'none' | 'public';
  /** With network `public`: the program (argv) QEMU runs for each connection to the proxy. */
  egress?: { command: string[] };
  sockets: { serial: string; control: string; qmp: string };
  /** Exit instead of rebooting when the guest reboots. */
  noReboot?: boolean;
  /** Start with the CPU stopped (the engine attaches its consoles, then sends `cont`). */
  startPaused?: boolean;
  /**
   * Empty PCIe root ports for disks added later (hotplugDisk): a saved installer state has no
   * disks, and each run plugs its own in after restoring it. Named rp-hp0, rp-hp1, …
   */
  hotplugSlots?: number;
  /** Start waiting for a saved state (QEMU `-incoming defer`; Machine.start() loads it). */
  incoming?: boolean;
  /** TCG only: the translation-block cache size in MiB (`-accel tcg,tb-size=`). */
  tcgTbSizeMiB?: number;
  /** The CPU model (default: `host` under KVM, TCG_CPU_MODEL under TCG). */
  cpuModel?: string;
  extraArgs?: string[];
}

/**
 * The CPU model under TCG: `qemu64` (x86-64, AMD vendor, so no Meltdown mitigations) with
 * x86-64-v2's SSSE3/SSE4/POPCNT and the cheap integer extensions BMI1/ADX, and without
 * AVX, XSAVE or LA57. `npm run bench` (bench/tcg-tuning.ts) measures it against `max` (every
 * feature TCG emulates) on the same guest work on CI's machine, in three runs: the fixture
 * installer's cold boot 0.83–0.85x, a ZFS pool with 64 MiB written 0.66–0.68x. The guest's
 * kernel and ZFS take AVX2 code paths and save AVX state at every context switch, all slow to
 * emulate. Against plain `qemu64` it is level within noise on both; ADX is kept for OpenSSL's
 * bignum code (the RSA host key sshd makes at first boot). NixOS's x86_64 baseline is x86-64
 * v1, which this meets.
 *
 * No BMI2: with it, QEMU 7.2's TCG (Debian 12's) miscomputes the zstd decompressor of Linux
 * 6.12's x86 EFI stub (NixOS 25.11's and Debian 13's kernel), which stops at once with "EFI stub:
 * WARNING: Decompression failed: ZSTD-compressed data is corrupt"; the same kernel boots with
 * every other feature listed here (tried one feature at a time under OVMF).
 *
 * RDRAND (TCG implements it) as every x86 server since 2012 has it and KVM's `-cpu host` passes
 * it on: the kernel seeds its random pool from it at boot (Linux drivers/char/random.c,
 * random.trust_cpu). Without it an emulated guest waited ~20 s of its boot for "crng init done",
 * and everything that asked for random bytes early (password hashing in activation, sshd's host
 * keys) waited with it: a delay a real machine does not have.
 */
export const TCG_CPU_MODEL = 'qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt,+bmi1,+adx,+rdrand';

/** Name of the virtio console port the control shell runs on (/dev/hvc0 in the guest). */
export const CONTROL_PORT_NAME = 'org.nixos-rehearse.control';

/**
 * Where the guest finds the egress relay with network `public` (the guestfwd's address on QEMU's
 * user network, 10.0.2.0/24, outside what its DHCP hands out), and the proxy URL its tools get.
 */
export const EGRESS_PROXY = { address: '10.0.2.100', port: 3128, url: 'http://10.0.2.100:3128' } as const;

/**
 * The VM's one NIC on QEMU's user network (slirp): its MAC (QEMU's default for a first NIC,
 * given explicitly so the harness can match it), the guest address slirp's DHCP hands out and
 * its host forwards go to, and the host's address as the guest sees it (QEMU docs, "Network
 * options", -netdev user: net=10.0.2.0/24, host=10.0.2.2, dhcpstart=10.0.2.15).
 */
export const VM_NIC = { mac: '52:54:00:12:34:56', address: '10.0.2.15', prefixLength: 24, host: '10.0.2.2' } as const;

/**
 * Guest memory for both VMs unless told otherwise. 2048 MiB is not enough for a real flake: the
 * live ISO's Nix store is a tmpfs in RAM (nixpkgs nixos/modules/installer/cd-dvd/iso-image.nix
 * mounts a tmpfs overlay over /nix/.ro-store), evaluating nixpkgs takes around a GiB, and the
 * ZFS ARC grows during the install.
 */
export const DEFAULT_MEMORY_MIB = 4096;
