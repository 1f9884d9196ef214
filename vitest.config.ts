import { defineConfig } from 'vitest/config';

// Two projects: `unit` runs in-process and through the CLI on files qemu-img makes; `e2e` drives
// Debian's chromium, the real pkexec/polkit path, attacker users racing root, and copies of the
// repository for the boundary checks. `npm test` runs both; each alone with --project.
const E2E = [
  'test/ui/**/*.test.ts',
  'test/privilege/**/*.test.ts',
  'test/security/**/*.test.ts',
  'test/structure/**/*.test.ts',
  'test/libvirt-real/**/*.test.ts',
];

export default defineConfig({
  test: {
    // Relabel and UI tests chown real files and drive one browser; files run in parallel,
    // tests inside a file in order.
    pool: 'forks',
    globalSetup: ['test/support/global-build.ts'],
    setupFiles: ['test/support/worker-state.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: E2E } },
      { extends: true, test: { name: 'e2e', include: E2E } },
    ],
  },
});
