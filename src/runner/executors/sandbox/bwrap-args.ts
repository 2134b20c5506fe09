import { dirname } from "node:path";
import { STEP_PATHS, type SandboxRoot } from "./sandbox-root";

/** The file descriptors bubblewrap is handed (after stdin, stdout, stderr). */
export const FD = { seccomp: 3, script: 4, info: 5, block: 6 } as const;

export interface StepBwrapOptions {
  /** From sandboxRootArgs: the runner's system, read-only, with the replaced /etc files. */
  root: SandboxRoot;
  uid: number;
  gid: number;
  workTree: string;
  home: string;
  tmp: string;
  repoObjects: string | null;
  /** False: the step gets a network namespace with loopback only (bubblewrap makes it). */
  sharedNetns: boolean;
  /** Size of /dev/shm (a tmpfs, counted in the step's memory). */
  shmBytes: number;
  /** Where the script is inside, and the command that runs it. */
  scriptPath: string;
  command: readonly string[];
}

/**
 * The bubblewrap command line of one step run. bubblewrap runs as root ("privileged mode": no user namespace, so the
 * bind sources are found with the runner's rights, and the step cannot make a user namespace of its own — see the
 * seccomp filter), makes new pid, ipc, uts, cgroup (and, without a prepared one, network) namespaces and a mount
 * namespace holding only what is listed here, then runs `setpriv`, which becomes the step's uid with no
 * capabilities and no supplementary groups before it runs the script. The step's environment is in the script
 * itself (handed over through a pipe, `--ro-bind-data`), so no process of the runner's that runs as root — nsenter,
 * bubblewrap, setpriv — ever sees a variable a user chose (LD_PRELOAD…).
 */
export function stepBwrapArgs(o: StepBwrapOptions): string[] {
  const args = ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"];
  if (!o.sharedNetns) args.push("--unshare-net");
  args.push("--die-with-parent", "--new-session", "--hostname", "pipelines");
  args.push(...o.root.system, ...o.root.etc);
  args.push("--proc", "/proc", "--dev", "/dev", "--size", String(o.shmBytes), "--tmpfs", "/dev/shm");
  args.push("--bind", o.tmp, STEP_PATHS.tmp, "--dir", "/var", "--symlink", "../tmp", "/var/tmp");
  args.push("--bind", o.home, STEP_PATHS.home);
  // bubblewrap makes missing parents of a bind as private as its source: make them readable first.
  args.push("--perms", "0755", "--dir", STEP_PATHS.scriptDir, "--perms", "0755", "--dir", dirname(STEP_PATHS.repoObjects));
  args.push("--bind", o.workTree, STEP_PATHS.cloneDir);
  if (o.repoObjects) args.push("--ro-bind", o.repoObjects, STEP_PATHS.repoObjects);
  args.push("--perms", "0444", "--ro-bind-data", String(FD.script), o.scriptPath);
  args.push("--chdir", STEP_PATHS.cloneDir);
  args.push("--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP");
  args.push("--seccomp", String(FD.seccomp), "--info-fd", String(FD.info), "--block-fd", String(FD.block));
  args.push("--", ...dropToUser(o.uid, o.gid), ...o.command);
  return args;
}

/** `setpriv` arguments that become `uid`/`gid` with no capability (none kept, none inheritable, none bounding). */
export function dropToUser(uid: number, gid: number): string[] {
  return ["/usr/bin/setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"];
}

/**
 * A bubblewrap jail for the runner's own copies into and out of a job's files: the job's directory at /job, the
 * runner's directory at /src or /dst, the system's programs (not /etc), nothing else — so a link the step left in its
 * files resolves inside the jail and can never reach the runner's machine. The copy itself runs as the step's uid.
 */
export function jailArgs(o: { root: SandboxRoot; binds: Array<[string, string, "ro" | "rw"]>; uid: number; gid: number; command: readonly string[] }): string[] {
  const args = ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net", "--unshare-cgroup-try", "--die-with-parent", "--new-session"];
  args.push(...o.root.system, "--dev", "/dev", "--tmpfs", "/tmp");
  for (const [from, to, mode] of o.binds) args.push(mode === "ro" ? "--ro-bind" : "--bind", from, to);
  args.push("--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP");
  args.push("--", ...dropToUser(o.uid, o.gid), ...o.command);
  return args;
}
