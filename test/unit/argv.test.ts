import { describe, expect, it } from 'vitest';
import { buildQemuArgv, qemuEscape } from '../../src/qemu/argv.js';
import type { MachineSpec } from '../../src/qemu/spec.js';

const base: MachineSpec = {
  name: 'rehearse',
  memoryMiB: 2048,
  cpus: 2,
  accel: 'tcg',
  firmware: { code: '/usr/share/OVMF/OVMF_CODE_4M.fd', vars: '/tmp/w/efivars.fd' },
  disks: [
    { id: 'disk0', serial: 'REHEARSE0', path: '/tmp/w/disk0.qcow2', bootIndex: 1 },
    { id: 'disk1', serial: 'REHEARSE1', path: '/tmp/w/disk1.qcow2' },
  ],
  iso: { path: '/isos/nixos-minimal.iso', bootIndex: 0 },
  kernelBoot: { kernel: '/tmp/w/bzImage', initrd: '/tmp/w/initrd', append: 'init=/nix/store/x/init console=ttyS0,115200n8' },
  sshHostPort: 2222,
  sockets: { serial: '/tmp/w/serial.sock', control: '/tmp/w/control.sock', qmp: '/tmp/w/qmp.sock' },
  startPaused: true,
};

/** The value following each occurrence of `flag`. */
const values = (argv: string[], flag: string) => argv.flatMap((a, i) => (a === flag ? [argv[i + 1]] : []));

describe('buildQemuArgv', () => {
  it('adds empty hotplug root ports after the disks, and -incoming defer for a saved state', () => {
    const a = buildQemuArgv({ ...base, hotplugSlots: 2, incoming: true });
    const ports = values(a, '-device').filter((d) => d.startsWith('pcie-root-port'));
    expect(ports).toEqual([
      'pcie-root-port,id=rp-disk0,bus=pcie.0,chassis=1',
      'pcie-root-port,id=rp-disk1,bus=pcie.0,chassis=2',
      'pcie-root-port,id=rp-hp0,bus=pcie.0,chassis=3',
      'pcie-root-port,id=rp-hp1,bus=pcie.0,chassis=4',
    ]);
    expect(values(a, '-incoming')).toEqual(['defer']);
    expect(values(argv, '-incoming')).toEqual([]);
    expect(() => buildQemuArgv({ ...base, hotplugSlots: 99 })).toThrow(/hotplug slots must be 0\.\.16/);
  });


  const argv = buildQemuArgv(base);

  it('uses q35 with the requested accelerator and a CPU model that fits it', () => {
    expect(values(argv, '-machine')).toEqual(['q35']);
    expect(values(argv, '-accel')).toEqual(['tcg']);
    expect(values(argv, '-cpu')).toEqual(['qemu64,+ssse3,+sse4.1,+sse4.2,+popcnt,+bmi1,+adx,+rdrand']);
    const kvm = buildQemuArgv({ ...base, accel: 'kvm' });
    expect(values(kvm, '-machine')).toEqual(['q35']);
    expect(values(kvm, '-accel')).toEqual(['kvm']);
    expect(values(buildQemuArgv({ ...base, tcgTbSizeMiB: 512 }), '-accel')).toEqual(['tcg,tb-size=512']);
    expect(values(buildQemuArgv({ ...base, accel: 'kvm', tcgTbSizeMiB: 512 }), '-accel')).toEqual(['kvm']);
    expect(values(buildQemuArgv({ ...base, cpuModel: 'Nehalem' }), '-cpu')).toEqual(['Nehalem']);
    expect(values(kvm, '-cpu')).toEqual(['host']);
    expect(values(argv, '-m')).toEqual(['2048M']);
    expect(values(argv, '-smp')).toEqual(['2']);
  });

  it('maps the firmware code read-only and the per-VM vars copy writable', () => {
    expect(values(argv, '-drive').filter((d) => d.startsWith('if=pflash'))).toEqual([
      'if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd',
      'if=pflash,format=raw,unit=1,file=/tmp/w/efivars.fd',
    ]);
  });

  it('attaches each disk as NVMe with its fixed serial and orders boot with bootindex, never -boot', () => {
    const devices = values(argv, '-device');
    expect(devices).toContain('nvme,id=nvme-disk0,bus=rp-disk0,serial=REHEARSE0,drive=disk0,bootindex=1');
    expect(devices).toContain('nvme,id=nvme-disk1,bus=rp-disk1,serial=REHEARSE1,drive=disk1');
    // Hot-unpluggable: each controller behind its own root port, each port its own chassis.
    expect(devices).toContain('pcie-root-port,id=rp-disk0,bus=pcie.0,chassis=1');
    expect(devices).toContain('pcie-root-port,id=rp-disk1,bus=pcie.0,chassis=2');
    expect(values(argv, '-drive')).toContain('if=none,id=disk0,format=qcow2,discard=unmap,file=/tmp/w/disk0.qcow2');
    expect(devices).toContain('ide-cd,id=cd0,drive=cdrom0,bus=ide.0,bootindex=0');
    expect(values(argv, '-drive')).toContain('if=none,id=cdrom0,media=cdrom,readonly=on,format=raw,file=/isos/nixos-minimal.iso');
    expect(argv).not.toContain('-boot');
  });

  it('boots a kernel directly when asked, and not otherwise', () => {
    expect(values(argv, '-kernel')).toEqual(['/tmp/w/bzImage']);
    expect(values(argv, '-initrd')).toEqual(['/tmp/w/initrd']);
    expect(values(argv, '-append')).toEqual(['init=/nix/store/x/init console=ttyS0,115200n8']);
    const disk = buildQemuArgv({ ...base, kernelBoot: undefined, iso: undefined });
    expect(disk).not.toContain('-kernel');
    expect(disk).not.toContain('-append');
  });

  it('forwards the SSH port on loopback only', () => {
    expect(values(argv, '-netdev')).toEqual(['user,id=net0,hostfwd=tcp:127.0.0.1:2222-10.0.2.15:22']);
    expect(values(buildQemuArgv({ ...base, sshHostPort: undefined }), '-netdev')).toEqual(['user,id=net0']);
    // network none: restrict=on (the guest reaches neither the host nor the outside), the SSH forward kept.
    expect(values(buildQemuArgv({ ...base, network: 'none' }), '-netdev')).toEqual(['user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:2222-10.0.2.15:22']);
    expect(values(buildQemuArgv({ ...base, network: 'nat' }), '-netdev')).toEqual(['user,id=net0,hostfwd=tcp:127.0.0.1:2222-10.0.2.15:22']);
  });

  it('wires serial, the virtio control console and QMP to Unix sockets, paused until attached', () => {
    expect(values(argv, '-chardev')).toEqual([
      'socket,id=serial0,path=/tmp/w/serial.sock,server=on,wait=off',
      'socket,id=control,path=/tmp/w/control.sock,server=on,wait=off',
    ]);
    expect(values(argv, '-serial')).toEqual(['chardev:serial0']);
    expect(values(argv, '-device')).toContain('virtconsole,chardev=control,name=org.nixos-rehearse.control');
    expect(values(argv, '-qmp')).toEqual(['unix:/tmp/w/qmp.sock,server=on,wait=off']);
    expect(argv).toContain('-S');
    expect(argv).toContain('-nodefaults');
    expect(argv).not.toContain('-no-reboot');
    expect(buildQemuArgv({ ...base, noReboot: true })).toContain('-no-reboot');
  });

  it('escapes commas in paths the QEMU way', () => {
    expect(qemuEscape('/a,b/c')).toBe('/a,,b/c');
    const a = buildQemuArgv({ ...base, disks: [{ id: 'disk0', serial: 'S0', path: '/tmp/x,y/d.qcow2' }] });
    expect(values(a, '-drive')).toContain('if=none,id=disk0,format=qcow2,discard=unmap,file=/tmp/x,,y/d.qcow2');
  });

  it('rejects specs that would confuse the wrong-disk guard or QEMU', () => {
    const dupSerial = { ...base, disks: [base.disks[0], { ...base.disks[1], serial: 'REHEARSE0' }] };
    expect(() => buildQemuArgv(dupSerial)).toThrow(/serial REHEARSE0 is used twice/);
    const longSerial = { ...base, disks: [{ ...base.disks[0], serial: 'X'.repeat(21) }] };
    expect(() => buildQemuArgv(longSerial)).toThrow(/1-20/);
    const dupBoot = { ...base, disks: [base.disks[0], { ...base.disks[1], bootIndex: 1 }] };
    expect(() => buildQemuArgv(dupBoot)).toThrow(/bootindex values must be distinct/);
    expect(() => buildQemuArgv({ ...base, memoryMiB: 64 })).toThrow(/at least 128 MiB/);
    expect(() => buildQemuArgv({ ...base, disks: [{ ...base.disks[0], id: 'a,b' }] })).toThrow(/disk id/);
  });
});
