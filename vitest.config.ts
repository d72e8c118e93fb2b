import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // tests that drive real namespaces and tcpdump must not run concurrently with each other
    fileParallelism: true,
  },
});
