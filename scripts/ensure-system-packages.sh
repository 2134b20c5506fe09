#!/usr/bin/env bash
# Installs the system programs Pipelines runs (git for checkouts and the test stand-in's git http-backend,
# bash for step scripts, procps for process checks, openssh for SSH checkouts and the Server stand-in's sshd, chromium for the browser tests) when they are missing. Needs root for apt-get; prints what
# to install otherwise. Safe to run repeatedly: does nothing when everything is there.
set -euo pipefail

need=()
command -v git >/dev/null 2>&1 || need+=(git)
command -v bash >/dev/null 2>&1 || need+=(bash)
command -v ps >/dev/null 2>&1 || need+=(procps)
[ -x /usr/lib/git-core/git-http-backend ] || [ -x "$(git --exec-path 2>/dev/null)/git-http-backend" ] || need+=(git)
# The Bitbucket Server stand-in serves git over SSH with a real sshd (test/standin/server); checkouts use ssh.
command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null 2>&1 && command -v ssh-keyscan >/dev/null 2>&1 || need+=(openssh-client)
# The browser tests (test/browser) drive Debian's chromium through playwright-core, which downloads no browser.
[ -x /usr/bin/chromium ] || need+=(chromium)
for extra in "$@"; do
  case "$extra" in
    sshd) ;; # always checked above
    chromium) ;; # always checked above
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
