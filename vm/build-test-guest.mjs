#!/usr/bin/env node
// Builds the tiny test guest used by the engine's VM tests: a Debian 12 kernel and a busybox
// initramfs (with util-linux's lsblk), from Debian packages only (`apt-get download` + `dpkg -x`,
// no root needed, nothing installed on the host). The result is cached under
// $XDG_CACHE_HOME/nixos-rehearse/test-guest/<hash>, keyed by this script and the package versions.
//
// Usage: node vm/build-test-guest.mjs [--print-dir]   (prints the JSON manifest, or the directory)
import { $, fs, path, os } from 'zx';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { cacheDir } from './host.mjs';

$.verbose = false;
const here = path.dirname(fileURLToPath(import.meta.url));

// Kernel modules the guest loads (their dependencies are resolved from modinfo).
// nvme: the NVMe disks; virtio_pci + virtio_console: the control channel (/dev/hvc0) the engine
// opens, as the NixOS installer ISO's kernel has it; efivarfs: /sys/firmware/efi/efivars;
// button + evdev: the ACPI power button (QMP system_powerdown), handled by busybox acpid.
const MODULES = ['nvme', 'virtio_pci', 'virtio_console', 'efivarfs', 'virtio_net', 'button', 'evdev'];
const PACKAGES = ['busybox-static', 'util-linux', 'libblkid1', 'libmount1', 'libsmartcols1', 'libudev1', 'libselinux1', 'libpcre2-8-0', 'libc6'];

// A module's dependencies, read from the `depends=` string in its .modinfo section
// (what modinfo prints; busybox's modinfo needs a modules.dep we have not written yet).
function moduleDepends(ko) {
  const i = ko.indexOf(Buffer.from('\0depends='));
  if (i < 0) return [];
  const end = ko.indexOf(0, i + 1);
  return ko.subarray(i + 9, end).toString('latin1').split(',').filter(Boolean);
}

export function cacheRoot() {
  return cacheDir();
}

async function candidates(pkgs) {
  const out = (await $`apt-cache policy ${pkgs}`.nothrow()).stdout;
  const versions = {};
  for (const section of out.split(/^(?=\S)/m)) {
    const name = /^(\S+):/.exec(section)?.[1];
    const v = /Candidate:\s*(\S+)/.exec(section)?.[1];
    if (name && v && v !== '(none)') versions[name] = v;
  }
  for (const p of pkgs) {
    if (!versions[p]) throw new Error(`Debian package ${p} is not known to apt here. Run: sudo apt-get update (Debian 12 with main)`);
  }
  return versions;
}

async function kernelPackage() {
  const out = (await $`apt-cache depends linux-image-amd64`.nothrow()).stdout;
  const m = /Depends:\s*(linux-image-\S+-amd64)/.exec(out);
  if (!m) throw new Error('cannot resolve linux-image-amd64 to a kernel package: run sudo apt-get update');
  return m[1];
}

export async function buildTestGuest({ log = () => {} } = {}) {
  const kpkg = await kernelPackage();
  const pkgs = [kpkg, ...PACKAGES];
  const versions = await candidates(pkgs);
  // The cache key covers this script, the guest's config files and the package versions.
  const h = createHash('sha256').update(await fs.readFile(fileURLToPath(import.meta.url)));
  for (const f of (await fs.readdir(path.join(here, 'test-guest'))).sort()) {
    h.update(f).update(await fs.readFile(path.join(here, 'test-guest', f)));
  }
  const key = h.update(JSON.stringify(versions)).digest('hex').slice(0, 16);
  const outDir = path.join(cacheRoot(), 'test-guest', key);
  const manifestPath = path.join(outDir, 'manifest.json');
  if (await fs.pathExists(manifestPath)) return JSON.parse(await fs.readFile(manifestPath, 'utf8'));

  log(`building test guest ${key} from ${pkgs.join(' ')}`);
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'rehearse-guest-'));
  try {
    const debs = path.join(work, 'debs');
    const ext = path.join(work, 'x');
    const root = path.join(work, 'root');
    await fs.mkdirp(debs);
    await $({ cwd: debs })`apt-get -q -o APT::Sandbox::User=root download ${pkgs.map((p) => `${p}=${versions[p]}`)}`;
    for (const f of await fs.readdir(debs)) await $`dpkg -x ${path.join(debs, f)} ${ext}`;
    const kver = kpkg.replace(/^linux-image-/, '');
    const bb = path.join(ext, 'bin/busybox');

    for (const d of ['bin', 'sbin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root', 'run', 'mnt', 'usr/bin', 'usr/sbin', 'lib/x86_64-linux-gnu', 'lib64']) {
      await fs.mkdirp(path.join(root, d));
    }
    await fs.copy(bb, path.join(root, 'bin/busybox'));
    const applets = (await $`${bb} --list-full`).stdout.trim().split('\n');
    for (const a of applets) {
      const dst = path.join(root, a);
      if (a === 'usr/bin/lsblk' || a === 'bin/lsblk' || (await fs.pathExists(dst))) continue;
      await fs.mkdirp(path.dirname(dst));
      await fs.symlink('/bin/busybox', dst);
    }
    await fs.symlink('/bin/busybox', path.join(root, 'init'));
    // util-linux's lsblk and the shared libraries it needs (all from the downloaded packages).
    await fs.copy(path.join(ext, 'bin/lsblk'), path.join(root, 'bin/lsblk'), { overwrite: true, dereference: true });
    for (const lib of ['libblkid.so.1', 'libmount.so.1', 'libsmartcols.so.1', 'libudev.so.1', 'libc.so.6', 'libselinux.so.1', 'libpcre2-8.so.0', 'libm.so.6']) {
      const src = [path.join(ext, 'lib/x86_64-linux-gnu', lib), path.join(ext, 'usr/lib/x86_64-linux-gnu', lib)].find((p) => fs.existsSync(p));
      if (!src) throw new Error(`library ${lib} not found in the downloaded packages`);
      await fs.copy(src, path.join(root, 'lib/x86_64-linux-gnu', lib), { dereference: true });
    }
    await fs.copy(path.join(ext, 'lib/x86_64-linux-gnu/ld-linux-x86-64.so.2'), path.join(root, 'lib64/ld-linux-x86-64.so.2'), { dereference: true });

    // Kernel modules: resolve dependencies with busybox modinfo, then busybox depmod.
    const modSrc = path.join(ext, 'lib/modules', kver);
    const byName = new Map();
    for (const f of (await $`find ${path.join(modSrc, 'kernel')} -name *.ko`).stdout.trim().split('\n')) {
      byName.set(path.basename(f, '.ko').replace(/-/g, '_'), f);
    }
    const want = [...MODULES];
    const seen = new Set();
    while (want.length) {
      const name = want.pop().replace(/-/g, '_');
      if (seen.has(name)) continue;
      const file = byName.get(name);
      if (!file) continue; // built into the kernel
      seen.add(name);
      const rel = path.relative(ext, file);
      await fs.copy(file, path.join(root, rel));
      for (const d of moduleDepends(await fs.readFile(file))) want.push(d);
    }
    await $`${bb} depmod -b ${root} ${kver}`;

    await fs.copy(path.join(here, 'test-guest'), path.join(root, 'etc'), { overwrite: true });
    await fs.writeFile(path.join(root, 'etc/modules-load'), MODULES.join('\n') + '\n');

    await fs.mkdirp(outDir);
    const initrd = path.join(outDir, 'initrd.img');
    await $({ cwd: root, shell: '/bin/bash' })`set -o pipefail; find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 | gzip -1 > ${initrd}`;
    await fs.copy(path.join(ext, 'boot', `vmlinuz-${kver}`), path.join(outDir, 'vmlinuz'));
    const manifest = {
      key,
      kernel: path.join(outDir, 'vmlinuz'),
      initrd,
      kernelVersion: kver,
      packages: versions,
      cmdline: 'console=ttyS0,115200n8 panic=-1 quiet',
    };
    await fs.writeFile(manifestPath, JSON.stringify(manifest, null, 2));
    return manifest;
  } finally {
    await fs.remove(work);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const m = await buildTestGuest({ log: (s) => console.error(s) });
  console.log(process.argv.includes('--print-dir') ? path.dirname(m.initrd) : JSON.stringify(m, null, 2));
}
