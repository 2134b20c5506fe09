import { start } from "../../src/server";
import { rootLogger } from "../../src/log/logger";

/**
 * A web process for the scale-out tests: `src/server.ts` as `npm start` runs it, with the tests' short lease and
 * poll intervals (a lease lost in a kill is given back within seconds, not the default 30). Its environment says
 * the rest (DATABASE_URL, PORT, PIPELINES_IN_PROCESS_RUNNER=false…).
 */
start(process.env, rootLogger, { pollMs: 200, leaseMs: Number(process.env.TEST_LEASE_MS ?? 6000) }).then(
  (running) => {
    const shutdown = () => void running.stop().then(() => process.exit(0), () => process.exit(1));
    process.on("SIGTERM", shutdown);
    process.on("SIGINT", shutdown);
  },
  (err: Error) => {
    process.stderr.write(`cannot start: ${err.message}\n`, () => process.exit(1));
  },
);
