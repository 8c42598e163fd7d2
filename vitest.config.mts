import { defineConfig } from "vitest/config";

export default defineConfig({
    test: {
        include: ["test/**/*.test.ts"],
        // Host and engine tests run real SSH sessions and restarts; a cold machine builds the sandbox image first.
        testTimeout: 180_000,
        hookTimeout: 900_000,
    },
});
