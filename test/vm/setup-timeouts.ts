// vitest's own limits for VM tests grow with the TCG speed factor the global setup measured: a
// slow day waits longer instead of failing at a fixed wall-clock limit.
import { inject, vi } from 'vitest';

const factor = Math.max(1, inject('speedFactor') ?? 1);
vi.setConfig({ testTimeout: Math.round(600_000 * factor), hookTimeout: Math.round(600_000 * factor) });
