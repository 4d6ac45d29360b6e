// Builds the qemu-system-x86_64 command line from a MachineSpec. Pure; unit-tested in
// test/unit/argv.test.ts.
import { CONTROL_PORT_NAME, EGRESS_PROXY, type MachineSpec, TCG_CPU_MODEL, VM_NIC } from './spec.js';

const ID = /^[A-Za-z][A-Za-z0-9_-]*$/;

/** QEMU option values separate properties with ',' ; a literal comma is written ',,'. */
export function qemuEscape(value: string): string {
  return value.replace(/,/g, ',,');
}

export function buildQemuArgv(spec: MachineSpec): string[] {
  validate(spec);
  const a: string[] = [];
  const push = (...xs: string[]) => a.push(...xs);
  push('-name', `${qemuEscape(spec.name)},debug-threads=on`);
  // q35: PCIe, AHCI for the CD-ROM, what OVMF and NVMe expect. KVM uses the host CPU model;
  // TCG the model that emulates fastest (spec.ts TCG_CPU_MODEL, measured by npm run bench).
  push('-machine', 'q35');
  push('-accel', spec.accel === 'tcg' && spec.tcgTbSizeMiB ? `tcg,tb-size=${spec.tcgTbSizeMiB}` : spec.accel);
  push('-cpu', spec.cpuModel ?? (spec.accel === 'kvm' ? 'host' : TCG_CPU_MODEL));
  push('-m', `${spec.memoryMiB}M`, '-smp', String(spec.cpus));
  push('-nodefaults', '-no-user-config', '-display', 'none');
  // UEFI: the firmware code read-only, and this VM's own copy of the variable store, so that
  // boot entries written by the guest (efibootmgr, bootctl) survive its reboots.
  push('-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${qemuEscape(spec.firmware.code)}`);
  push('-drive', `if=pflash,format=raw,unit=1,file=${qemuEscape(spec.firmware.vars)}`);
  // Boot order: OVMF honours `bootindex` on devices and ignores `-boot order=`.
  // Each NVMe controller sits behind its own PCIe root port: devices on q35's root bus cannot
  // be hot-unplugged, and a test must be able to pull a mirror disk out of a running machine.
  spec.disks.forEach((d, i) => {
    push('-device', `pcie-root-port,id=rp-${d.id},bus=pcie.0,chassis=${i + 1}`);
    push('-drive', `if=none,id=${d.id},format=qcow2,discard=unmap,file=${qemuEscape(d.path)}`);
    const boot = d.bootIndex !== undefined ? `,bootindex=${d.bootIndex}` : '';
    push('-device', `nvme,id=nvme-${d.id},bus=rp-${d.id},serial=${qemuEscape(d.serial)},drive=${d.id}${boot}`);
  });
  // Empty root ports after the cold-plugged ones (their chassis numbers follow): hotplugDisk().
  for (let i = 0; i < (spec.hotplugSlots ?? 0); i++) push('-device', `pcie-root-port,id=rp-hp${i},bus=pcie.0,chassis=${spec.disks.length + i + 1}`);
  if (spec.iso) {
    push('-drive', `if=none,id=cdrom0,media=cdrom,readonly=on,format=raw,file=${qemuEscape(spec.iso.path)}`);
    const boot = spec.iso.bootIndex !== undefined ? `,bootindex=${spec.iso.bootIndex}` : '';
    push('-device', `ide-cd,id=cd0,drive=cdrom0,bus=ide.0${boot}`);
  }
  if (spec.kernelBoot) {
    push('-kernel', spec.kernelBoot.kernel);
    if (spec.kernelBoot.initrd) push('-initrd', spec.kernelBoot.initrd);
    if (spec.kernelBoot.append) push('-append', spec.kernelBoot.append);
  }
  // User-mode networking; romfile= keeps OVMF from trying a PXE boot through the NIC's ROM. The
  // MAC is fixed: the installed system's harness module names the NIC by it (harness.ts).
  const fwd = spec.sshHostPort !== undefined ? `,hostfwd=tcp:127.0.0.1:${spec.sshHostPort}-${VM_NIC.address}:22` : '';
  // restrict=on: the guest reaches neither the host (10.0.2.2 is the host's loopback) nor the
  // outside; the forward above still reaches the guest (QEMU's documentation of -netdev user).
  push('-netdev', `user,id=net0${spec.network === 'none' || spec.network === 'public' ? ',restrict=on' : ''}${fwd}${egressForward(spec)}`);
  push('-device', `virtio-net-pci,netdev=net0,mac=${VM_NIC.mac},romfile=`);
  // Serial port: the boot log, the boot menus, the installer's autologin shell.
  push('-chardev', `socket,id=serial0,path=${qemuEscape(spec.sockets.serial)},server=on,wait=off`);
  push('-serial', 'chardev:serial0');
  // The control channel: a virtio console (/dev/hvc0), as nixpkgs' test driver uses.
  push('-device', 'virtio-serial-pci,id=vser0');
  push('-chardev', `socket,id=control,path=${qemuEscape(spec.sockets.control)},server=on,wait=off`);
  push('-device', `virtconsole,chardev=control,name=${CONTROL_PORT_NAME}`);
  push('-qmp', `unix:${qemuEscape(spec.sockets.qmp)},server=on,wait=off`);
  if (spec.noReboot) push('-no-reboot');
  if (spec.startPaused) push('-S');
  if (spec.incoming) push('-incoming', 'defer');
  if (spec.extraArgs) push(...spec.extraArgs);
  return a;
}

function validate(spec: MachineSpec) {
  const problems: string[] = [];
  if (!Number.isInteger(spec.memoryMiB) || spec.memoryMiB < 128) problems.push(`memory must be at least 128 MiB (got ${spec.memoryMiB})`);
  if (!Number.isInteger(spec.cpus) || spec.cpus < 1 || spec.cpus > 64) problems.push(`cpus must be 1..64 (got ${spec.cpus})`);
  const ids = new Set<string>();
  const serials = new Set<string>();
  for (const d of spec.disks) {
    if (!ID.test(d.id)) problems.push(`disk id ${JSON.stringify(d.id)} must be letters, digits, '-', '_' and start with a letter`);
    if (ids.has(d.id)) problems.push(`disk id ${d.id} is used twice`);
    ids.add(d.id);
    // NVMe serials are at most 20 ASCII characters (NVMe spec, Identify Controller SN).
    if (!/^[A-Za-z0-9_-]{1,20}$/.test(d.serial)) problems.push(`disk serial ${JSON.stringify(d.serial)} must be 1-20 of [A-Za-z0-9_-]`);
    if (serials.has(d.serial)) problems.push(`disk serial ${d.serial} is used twice`);
    serials.add(d.serial);
  }
  const idx = [...spec.disks.map((d) => d.bootIndex), spec.iso?.bootIndex].filter((x) => x !== undefined);
  if (new Set(idx).size !== idx.length) problems.push(`bootindex values must be distinct (got ${idx.join(', ')})`);
  const slots = spec.hotplugSlots ?? 0;
  if (!Number.isInteger(slots) || slots < 0 || slots > 16) problems.push(`hotplug slots must be 0..16 (got ${slots})`);
  if (spec.tcgTbSizeMiB !== undefined && !(Number.isInteger(spec.tcgTbSizeMiB) && spec.tcgTbSizeMiB > 0)) problems.push(`tb-size must be a positive number of MiB (got ${spec.tcgTbSizeMiB})`);
  if (spec.sshHostPort !== undefined && !(spec.sshHostPort > 0 && spec.sshHostPort < 65536)) problems.push(`ssh host port ${spec.sshHostPort} is not a TCP port`);
  if (problems.length) throw new Error(`invalid machine spec for ${spec.name}:\n  - ${problems.join('\n  - ')}`);
}

/**
 * network `public`: the one way out, a guestfwd from 10.0.2.100:3128 to the relay, started by
 * QEMU (through GLib's shell-style argv parsing) for each connection the guest opens to it.
 */
function egressForward(spec: MachineSpec): string {
  if (spec.network !== 'public') return '';
  if (!spec.egress?.command.length) throw new Error('network public needs the egress relay command');
  const words = spec.egress.command.map((w) => `'${w.replaceAll("'", `'\\''`)}'`).join(' ');
  return `,guestfwd=tcp:${EGRESS_PROXY.address}:${EGRESS_PROXY.port}-cmd:${qemuEscape(words)}`;
}
