/**
 * The seccomp filter every sandboxed step runs under (a classic BPF program, as bubblewrap's `--seccomp FD` takes
 * it). It narrows the kernel a stranger's code can reach, like Docker's default profile does:
 * - no new user namespaces (`clone`/`unshare` with CLONE_NEWUSER → EPERM; `clone3`, whose flags a filter cannot read,
 *   → ENOSYS so that libc falls back to `clone`): inside one, an unprivileged process gets every capability over
 *   namespaces of its own, the way into most kernel privilege escalations;
 * - no kernel keyrings, eBPF, perf events, userfaultfd, io_uring, module loading, kexec, handle-based opens, swap,
 *   reboot or mounting (EPERM or ENOSYS, so programs see an ordinary refusal);
 * - only the runner's own architecture (a 32-bit `int 0x80` or x32 call gets ENOSYS: its numbers would bypass the
 *   table).
 */

const EPERM = 1;
const ENOSYS = 38;
const CLONE_NEWUSER = 0x10000000;

const RET_ALLOW = 0x7fff0000;
const retErrno = (errno: number) => 0x00050000 | errno;

interface ArchTable {
  /** AUDIT_ARCH_* */
  audit: number;
  /** Numbers at or above this are another ABI (x32) and are refused. */
  abiLimit?: number;
  clone: number;
  unshare: number;
  /** Refused with EPERM. */
  eperm: number[];
  /** Refused with ENOSYS (callers fall back to something else). */
  enosys: number[];
}

/** io_uring_setup/enter/register and clone3 have the same numbers on every architecture (≥ 424). */
const COMMON_ENOSYS = [425, 426, 427, 435];
/** open_tree, move_mount, fsopen, fsconfig, fsmount, fspick, mount_setattr. */
const COMMON_MOUNT_API = [428, 429, 430, 431, 432, 433, 442];

const TABLES: Partial<Record<NodeJS.Architecture, ArchTable>> = {
  x64: {
    audit: 0xc000003e,
    abiLimit: 0x40000000,
    clone: 56,
    unshare: 272,
    // add_key, request_key, keyctl, bpf, perf_event_open, userfaultfd, kexec_load, kexec_file_load,
    // name_to_handle_at, open_by_handle_at, init_module, finit_module, delete_module, iopl, ioperm, swapon, swapoff,
    // reboot, mount, umount2, pivot_root
    eperm: [248, 249, 250, 321, 298, 323, 246, 320, 303, 304, 175, 313, 176, 172, 173, 167, 168, 169, 165, 166, 155, ...COMMON_MOUNT_API],
    enosys: COMMON_ENOSYS,
  },
  arm64: {
    audit: 0xc00000b7,
    clone: 220,
    unshare: 97,
    // add_key, request_key, keyctl, bpf, perf_event_open, userfaultfd, kexec_load, kexec_file_load,
    // name_to_handle_at, open_by_handle_at, init_module, finit_module, delete_module, swapon, swapoff, reboot,
    // mount, umount2, pivot_root
    eperm: [217, 218, 219, 280, 241, 282, 104, 294, 264, 265, 105, 273, 106, 224, 225, 142, 40, 39, 41, ...COMMON_MOUNT_API],
    enosys: COMMON_ENOSYS,
  },
};

/** Whether a filter exists for this machine's architecture. */
export function seccompSupported(arch: NodeJS.Architecture = process.arch): boolean {
  return TABLES[arch] !== undefined;
}

type Insn = { code: number; jt: number | string; jf: number | string; k: number } | { label: string };

const ld = (offset: number): Insn => ({ code: 0x20, jt: 0, jf: 0, k: offset }); // BPF_LD | BPF_W | BPF_ABS
const ret = (k: number): Insn => ({ code: 0x06, jt: 0, jf: 0, k }); // BPF_RET | BPF_K
const jeq = (k: number, jt: number | string, jf: number | string = 0): Insn => ({ code: 0x15, jt, jf, k });
const jge = (k: number, jt: number | string, jf: number | string = 0): Insn => ({ code: 0x35, jt, jf, k });
const jset = (k: number, jt: number | string, jf: number | string = 0): Insn => ({ code: 0x45, jt, jf, k });
const label = (name: string): Insn => ({ label: name });

/** seccomp_data: nr at 0, arch at 4, instruction pointer at 8, args from 16 (8 bytes each, low half first). */
const NR = 0;
const ARCH = 4;
const ARG0_LOW = 16;

/** The filter as bytes (struct sock_filter[]: u16 code, u8 jt, u8 jf, u32 k, little-endian). */
export function seccompFilter(arch: NodeJS.Architecture = process.arch): Buffer {
  const t = TABLES[arch];
  if (!t) throw new Error(`no seccomp filter for the ${arch} architecture`);
  const prog: Insn[] = [ld(ARCH), jeq(t.audit, 0, "enosys"), ld(NR)];
  if (t.abiLimit !== undefined) prog.push(jge(t.abiLimit, "enosys"));
  for (const nr of t.eperm) prog.push(jeq(nr, "eperm"));
  for (const nr of t.enosys) prog.push(jeq(nr, "enosys"));
  prog.push(jeq(t.clone, "flags"), jeq(t.unshare, "flags"), ret(RET_ALLOW));
  prog.push(label("flags"), ld(ARG0_LOW), jset(CLONE_NEWUSER, "eperm"), ret(RET_ALLOW));
  prog.push(label("eperm"), ret(retErrno(EPERM)), label("enosys"), ret(retErrno(ENOSYS)));
  return assemble(prog);
}

function assemble(prog: Insn[]): Buffer {
  const labels = new Map<string, number>();
  const code: Array<Exclude<Insn, { label: string }>> = [];
  for (const insn of prog) {
    if ("label" in insn) labels.set(insn.label, code.length);
    else code.push(insn);
  }
  const out = Buffer.alloc(code.length * 8);
  code.forEach((insn, i) => {
    const offset = (target: number | string) => {
      if (typeof target === "number") return target;
      const at = labels.get(target);
      if (at === undefined) throw new Error(`seccomp: no label ${target}`);
      const rel = at - (i + 1);
      if (rel < 0 || rel > 255) throw new Error(`seccomp: jump to ${target} out of range`);
      return rel;
    };
    out.writeUInt16LE(insn.code, i * 8);
    out.writeUInt8(offset(insn.jt), i * 8 + 2);
    out.writeUInt8(offset(insn.jf), i * 8 + 3);
    out.writeUInt32LE(insn.k >>> 0, i * 8 + 4);
  });
  return out;
}
