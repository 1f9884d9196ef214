// diskchain's version: the build writes it in (esbuild `define`); from source, npm's or a default.
declare const __DISKCHAIN_VERSION__: string | undefined;

export const VERSION = typeof __DISKCHAIN_VERSION__ === 'string' ? __DISKCHAIN_VERSION__ : (process.env.npm_package_version ?? '0.1.0');
