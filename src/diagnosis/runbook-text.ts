// The runbook's own words for what goes wrong, quoted (../shared/seed/nixos-25.11-install-runbook.txt,
// "Common mistakes: symptom → root cause → fix" and the Decisions of the Tasks and of "The safe
// upgrade pattern" / "Rollback you can do under pressure" / "Garbage collection without shooting
// yourself"). Kept verbatim so that a diagnosis reads like the runbook an operator knows.

export interface CommonMistake {
  /** e.g. `Common mistakes 1`. */
  section: string;
  symptom: string;
  cause: string;
  fix: string;
}

export const COMMON_MISTAKES = {
  espNotMounted: {
    section: 'Common mistakes 1',
    symptom: 'Boot drops to firmware menu or “no bootable device.”',
    cause: 'ESP wasn’t mounted at /mnt/boot during install, so bootloader entries were written to the wrong place (or not at all).',
    fix: 'Boot ISO, mount root at /mnt, mount ESP at /mnt/boot, then reinstall bootloader via nixos-enter or rerun installation steps carefully.',
  },
  poolNotImported: {
    section: 'Common mistakes 2',
    symptom: 'Emergency shell; errors about mounting root or missing pool.',
    cause: 'Missing boot.supportedFilesystems = [ "zfs" ];, wrong dataset names, or initrd not including ZFS bits.',
    fix: 'Confirm hardware config includes ZFS support; rebuild; if already broken, boot older generation or use ISO to import pool and fix config.',
  },
  sshDead: {
    section: 'Common mistakes 3',
    symptom: 'You can’t SSH in after a rebuild; console shows system is up.',
    cause: 'Network config drift (DHCP vs static), firewall rules changed declaratively, or sshd settings tightened without keys in place.',
    fix: 'On console, check ip -br a, systemctl status sshd, and journalctl -u sshd. Revert generation if needed, then fix config with authorized keys and a staged rollout.',
  },
  diskFilling: {
    section: 'Common mistakes 4',
    symptom: '/nix grows until the system starts failing in weird ways.',
    cause: 'Old generations and store paths accumulate; GC not configured; build artifacts kept.',
    fix: 'Set a GC policy and generation retention; move /nix to its own dataset/partition; monitor free space.',
  },
  rebuildSlow: {
    section: 'Common mistakes 5',
    symptom: 'Rebuilds are slow; CPU and disk churn.',
    cause: 'Frequent source builds, missing binary cache access, or an overgrown configuration pulling too many dependencies.',
    fix: 'Confirm you’re using binary caches, prefer stable packages, and avoid compiling the world on production nodes.',
  },
  secretInStore: {
    section: 'Common mistakes 6',
    symptom: 'A token shows up in /nix/store or can be read by unintended users.',
    cause: 'You placed secrets directly in Nix expressions or created files at build time that land in the store.',
    fix: 'Move secrets to runtime provisioning (tmpfiles, external secret manager, encrypted files decrypted at activation) and rotate compromised credentials.',
  },
} satisfies Record<string, CommonMistake>;

/** Decisions the runbook attaches to the checks after the install (Tasks 13–18 and after). */
export const DECISIONS = {
  // Tasks 1–10: the plan's steps' Decisions (runbook/plan.ts reads all of 1–13 from here).
  task1: { section: 'Task 1', text: 'If UEFI is missing, reboot and fix firmware settings. Don’t install in legacy mode unless you have a very specific constraint.' },
  task2: { section: 'Task 2', text: 'Choose the install target(s). If this is a mirrored boot setup, you want two disks. If it’s a VM, one is fine.' },
  task3: { section: 'Task 3', text: 'If you see an old messy layout and you’re reinstalling, wipe the disk label cleanly (don’t half-reuse partitions unless you’re also writing a runbook for future-you).' },
  task4: { section: 'Task 4', text: 'Proceed only if you are absolutely sure you selected the right disk.' },
  task5: { section: 'Task 5', text: 'If you’re doing mirrored boot, you’ll format an ESP on each disk and mount both (or use a sync approach). Single-disk is simpler.' },
  task6: { section: 'Task 6', text: 'If you see anything but ONLINE with zero errors, stop. Fix cabling, disk health, or device paths. Do not “continue and hope.”' },
  task7: { section: 'Task 7', text: 'Put /nix on its own dataset. It grows. It churns. You want to snapshot it differently than your persistent state.' },
  task8: { section: 'Task 8', text: 'If /mnt/boot isn’t mounted, your systemd-boot install will silently produce a system that doesn’t boot. Fix it now.' },
  task9: { section: 'Task 9', text: 'Treat hardware-configuration.nix as mostly machine-generated and stable; keep human intent in separate modules where possible.' },
  task10: { section: 'Task 10', text: 'Keep ZFS dataset names stable. Do not rely on /dev/nvme0n1p2 in long-term configs unless you enjoy post-reboot surprises.' },
  task11: { section: 'Task 11', text: 'If the build fails, fix it now while you still have the ISO environment. Don’t “install and hope.”' },
  task12: { section: 'Task 12', text: 'If bootloader install errors, do not reboot. Inspect /mnt/boot and your boot loader settings first.' },
  task13: { section: 'Task 13', text: 'If the directory is empty, your ESP wasn’t mounted during install. Mount it and reinstall bootloader from a chroot (or rerun install carefully).' },
  task14: { section: 'Task 14', text: 'If generations are missing or switching fails later, you probably have a broken bootloader install or a filesystem mount issue.' },
  task15: { section: 'Task 15', text: 'If it reports degraded pools, failing devices, or checksum errors, treat it as urgent. ZFS tells the truth; people tend to negotiate with it anyway.' },
  task16: { section: 'Task 16', text: 'If userspace is huge, inspect which units are blocking. If kernel is huge, it’s often firmware, storage init, or initrd complexity.' },
  task17: { section: 'Task 17', text: 'If it’s not active, do not proceed with remote-only administration plans. Fix networking/sshd now while you still have console access.' },
  task18: { section: 'Task 18', text: 'If you’re disk-constrained, plan garbage collection and keep /nix on its own dataset or partition.' },
  build: { section: 'The safe upgrade pattern: build', text: 'If build fails, you haven’t touched the running system. Fix before switching.' },
  switch: { section: 'The safe upgrade pattern: switch', text: 'Validate the specific things your business cares about (ports, API health, storage mounts). Don’t trust “switch succeeded.”' },
  keepGenerations: { section: 'Rollback you can do under pressure', text: 'If you only keep one generation, you’ve turned NixOS into a fancy package manager. Keep a few.' },
  rollback: { section: 'Rollback you can do under pressure', text: 'If the system is in a bad state, prefer boot-time rollback. It resets more assumptions.' },
  gc: { section: 'Garbage collection without shooting yourself', text: 'Before enabling automated GC, set a policy for how many generations you keep and how long. Disk is cheap; downtime is not.' },
  secrets: { section: 'Secrets: decide now, not later', text: 'Do not store secrets in world-readable Nix store paths. The store is designed for reproducibility, not confidentiality.' },
} satisfies Record<string, { section: string; text: string }>;
