#!/usr/bin/env bash
# Installs the system programs Pipelines needs when they are missing: git (checkouts; the test stand-in's
# git http-backend), git-lfs (`clone: lfs: true`), bash (step scripts), procps (process checks), the OpenSSH client
# (checkouts over SSH, host keys), and what the sandbox executor isolates steps with: bubblewrap (namespaces),
# slirp4netns and iproute2 (a step's own network), e2fsprogs (a size-capped filesystem per job), util-linux (setpriv,
# nsenter, mount, flock, unshare).
# With `tests` it also installs what only the tests use: openssh-server (the Bitbucket Server stand-in runs a real
# sshd), chromium (the browser tests drive Debian's chromium through playwright-core, which downloads no browser),
# and for the container executor's tests podman with runc and catatonit, and busybox-static (test images are made
# from it: no registry is reachable). Needs root for apt-get; prints what to install otherwise. Does nothing when
# everything is there.
set -euo pipefail

need=()
command -v git >/dev/null 2>&1 || need+=(git)
command -v git-lfs >/dev/null 2>&1 || need+=(git-lfs)
command -v bash >/dev/null 2>&1 || need+=(bash)
command -v ps >/dev/null 2>&1 || need+=(procps)
[ -x /usr/lib/git-core/git-http-backend ] || [ -x "$(git --exec-path 2>/dev/null)/git-http-backend" ] || need+=(git)
{ command -v ssh >/dev/null 2>&1 && command -v ssh-keyscan >/dev/null 2>&1; } || need+=(openssh-client)
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
command -v slirp4netns >/dev/null 2>&1 || need+=(slirp4netns)
command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || need+=(iproute2)
command -v mkfs.ext4 >/dev/null 2>&1 || [ -x /usr/sbin/mkfs.ext4 ] || [ -x /sbin/mkfs.ext4 ] || need+=(e2fsprogs)
{ command -v setpriv >/dev/null 2>&1 && command -v nsenter >/dev/null 2>&1; } || need+=(util-linux)
for extra in "$@"; do
  case "$extra" in
    tests)
      command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || need+=(openssh-server)
      [ -x /usr/bin/chromium ] || need+=(chromium)
      command -v podman >/dev/null 2>&1 || need+=(podman)
      command -v runc >/dev/null 2>&1 || [ -x /usr/sbin/runc ] || need+=(runc)
      [ -x /usr/bin/catatonit ] || [ -x /usr/libexec/podman/catatonit ] || need+=(catatonit)
      dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
      ;;
    *) echo "unknown argument: $extra (only: tests)" >&2; exit 2 ;;
  esac
done
[ ${#need[@]} -eq 0 ] && exit 0

echo "installing system packages: ${need[*]}" >&2
if [ "$(id -u)" != "0" ]; then
  echo "not root: install them yourself (apt-get install ${need[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
