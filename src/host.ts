// The host facts shared with the scripts under vm/ (vm/host.mjs, plain JavaScript, bundled into
// dist/ from here): the cache directory and `command -v`. One place for each; import them from here.
export { aptInstall, cacheDir, commandPath, hasCommand, missingPackages } from '../vm/host.mjs';
export type { AptInstall } from '../vm/host.mjs';
