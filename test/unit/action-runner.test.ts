// Runner set-up happens only on GitHub-hosted Linux runners, never on a laptop or a
// self-hosted machine, and uses the udev rule GitHub documents for /dev/kvm.
import { expect, it } from 'vitest';
import { KVM_UDEV_RULE, isGithubHostedLinux, prepareRunner } from '../../src/action/runner.js';

it('recognises a GitHub-hosted Linux runner and nothing else', async () => {
  const hosted = { GITHUB_ACTIONS: 'true', RUNNER_OS: 'Linux', RUNNER_ENVIRONMENT: 'github-hosted' };
  expect(isGithubHostedLinux(hosted)).toBe(true);
  expect(isGithubHostedLinux({ ...hosted, RUNNER_ENVIRONMENT: 'self-hosted' })).toBe(false);
  expect(isGithubHostedLinux({ ...hosted, RUNNER_OS: 'macOS' })).toBe(false);
  expect(isGithubHostedLinux({})).toBe(false);
  // Here (not a hosted runner) it does nothing: no sudo, no apt-get, no udev.
  expect(await prepareRunner({})).toEqual([]);
  expect(KVM_UDEV_RULE).toBe('KERNEL=="kvm", GROUP="kvm", MODE="0666", OPTIONS+="static_node=kvm"');
});
