import { defineConfig } from "vitest/config";

// `npm run measure`: the figures in the README, not part of `npm test`.
export default defineConfig({
    test: {
        include: ["test/measure/**/*.measure.ts"],
        testTimeout: 900_000,
        hookTimeout: 900_000,
    },
});
