// The host facts shared with the scripts under vm/ (vm/host.mjs, plain JavaScript, bundled into
// dist/ from here): the cache directory, `command -v`, missing packages. One place for each.

export { aptInstall, cacheDir, commandPath, hasCommand, missingPackages } from '../vm/host.mjs';
export type { AptInstall } from '../vm/host.mjs';
