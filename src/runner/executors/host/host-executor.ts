import { cp, mkdir } from "node:fs/promises";
import os from "node:os";
import { dirname, join } from "node:path";
import { packScript, streamIn, streamOut, UNPACK_SCRIPT } from "../tar-stream";
import { startScript, type ScriptRun } from "../../run-script";
import { createWorkspace, removeWorkspace } from "../../workspace";
import type { Executor, JobSandbox, RunSpec, StepSandbox, StepSpec } from "../executor";
import { StepRefusedError } from "../executor";

/**
 * No isolation: a step's script runs as the runner's own user, in its own process group, on the runner's system.
 * It can read and change anything that user can, reach every port of the machine, and leave processes that left its
 * process group. Only for a remote runner whose operator chose it explicitly (PIPELINES_EXECUTOR=host), for
 * repositories they trust; the runner warns at start and every step's log and page say so.
 */
export class HostExecutor implements Executor {
  readonly name = "host" as const;

  constructor(
    private readonly workDir: string,
    private readonly stateDir: string,
    private readonly runnerName: string,
  ) {}

  describe(): string {
    return `host — NO ISOLATION: steps run as ${os.userInfo().username} on this machine`;
  }

  async job(): Promise<JobSandbox> {
    const dir = await createWorkspace(this.workDir);
    const { stateDir, runnerName } = this;
    return {
      dir,
      owner: null,
      async step(spec: StepSpec): Promise<StepSandbox> {
        const pipe = spec.pipes[0];
        if (pipe) throw new StepRefusedError(`this step runs the pipe ${pipe.pipe}: pipes are containers, and this runner's executor is "host"; a runner with PIPELINES_EXECUTOR=container runs them`);
        const pidFile = join(stateDir, `job-${spec.jobId}-step-${spec.stepIndex}.pid`);
        return {
          paths: { cloneDir: spec.dirs.workTree, home: spec.dirs.home, tmp: spec.dirs.tmp },
          header: [`executor: host — this step ran WITHOUT ISOLATION, as ${os.userInfo().username} on runner ${runnerName}'s own system`],
          run: (run: RunSpec): Promise<ScriptRun> =>
            startScript({
              commands: run.commands,
              file: join(spec.dirs.tmp, `.pipelines-script-${process.pid}-${Date.now()}.sh`),
              cwd: spec.dirs.workTree,
              env: { ...run.env },
              secrets: run.secrets,
              graceMs: run.graceMs,
              output: run.output,
              pidFile,
            }),
          problems: async () => [],
          teardown: async () => undefined,
        };
      },
      async copyIn(from: string, into: string) {
        await mkdir(into, { recursive: true });
        await cp(from, into, { recursive: true, force: true, verbatimSymlinks: true });
      },
      async copyOut(from: string, to: string, files?: readonly string[]) {
        if (!files) return cp(from, to, { recursive: true, verbatimSymlinks: true });
        for (const f of files) {
          await mkdir(dirname(join(to, f)), { recursive: true });
          await cp(join(from, f), join(to, f), { force: true, verbatimSymlinks: true });
        }
      },
      packOut: (from: string, files?: readonly string[]) => streamOut("/bin/sh", ["-c", packScript(files !== undefined), "sh", from], files ? files.map((f) => `${f}\0`).join("") : undefined),
      unpackIn: (into: string, body) => streamIn("/bin/sh", ["-c", UNPACK_SCRIPT, "sh", into], body),
      diskFull: async () => false,
      release: () => removeWorkspace(dir),
    };
  }

  async close(): Promise<void> {}
}
