#!/usr/bin/env bash
# Install what the end-to-end lab tests (tests/lab, tests/test_lab.py) need, idempotently.
# Run as root on Debian/Ubuntu: OpenSSH server, socat, iproute2 (ip netns), procps (pgrep), and
# the shells the lab's users log in with (zsh, fish, dash, ksh), and the real Codex CLI in a
# world-readable cache (the lab's server user runs it): the pinned version and the newest one.
# Not root: prints that lab tests will skip and exits 0.
set -euo pipefail

CODEX_VERSION=0.169.0
# The newest release the suite also runs against: bump here (and in tests/lab/account.py).
CODEX_LATEST_VERSION=0.171.0
CODEX_CACHE=${CODEX_WIZARD_LAB_CODEX_CACHE:-/var/cache/codex-wizard-lab}

log() { echo "lab-deps: $*"; }

if [ "$(id -u)" -ne 0 ]; then
    log "not root: the lab tests need root (network namespaces, a throwaway user) and will skip"
    exit 0
fi

codex_installed() {  # version dir
    local pkg="$2/node_modules/@openai/codex/package.json"
    [ -f "$pkg" ] && [ -e "$2/node_modules/.bin/codex" ] \
        && grep -q "\"version\": *\"$1\"" "$pkg"
}

apt_needs() {
    [ -x /usr/sbin/sshd ] || echo openssh-server
    command -v ssh >/dev/null || echo openssh-client
    command -v socat >/dev/null || echo socat
    command -v ip >/dev/null || echo iproute2
    command -v pgrep >/dev/null || echo procps
    command -v python3 >/dev/null || echo python3
    command -v npm >/dev/null || echo nodejs npm  # codex's install and the npm fault tests
    local shell
    for shell in zsh fish dash ksh; do  # login shells of the lab's users (tests/test_env_lab.py)
        command -v "$shell" >/dev/null || echo "$shell"
    done
    [ -x /usr/lib/openssh/sftp-server ] || echo openssh-sftp-server  # the external sftp-server
    # a static busybox for the chroot-without-/proc server (tests/lab/chroot.py)
    dpkg -s busybox-static >/dev/null 2>&1 || echo busybox-static
}

install_apt() {
    local needs
    needs=$(apt_needs | tr '\n' ' ')
    if [ -z "${needs// /}" ]; then
        log "apt packages already present"
        return
    fi
    log "apt-get update"
    apt-get update -qq
    log "apt-get install $needs"
    # shellcheck disable=SC2086  # word splitting of the package list is intended
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $needs
}

install_codex() {  # version
    local version=$1 dir="$CODEX_CACHE/codex-$1"
    if codex_installed "$version" "$dir"; then
        log "real codex $version already in $dir"
    else
        log "npm install @openai/codex@$version into $dir"
        mkdir -p "$dir"
        npm install --prefix "$dir" --no-audit --no-fund --save-exact "@openai/codex@$version"
    fi
    if ! ls -d "$dir"/node_modules/@openai/codex-*/vendor >/dev/null 2>&1; then
        log "warning: no native @openai/codex-<platform> package in $dir (optional dep)"
    fi
    log "chmod -R a+rX $dir (the lab user must run it)"
    chmod -R a+rX "$dir"
    chmod a+rx "$CODEX_CACHE"
}

install_apt
install_codex "$CODEX_VERSION"
install_codex "$CODEX_LATEST_VERSION"
log "done"
