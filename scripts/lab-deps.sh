#!/usr/bin/env bash
# Install what the end-to-end lab tests (tests/lab, tests/test_lab.py) need, idempotently.
# Run as root on Debian/Ubuntu: OpenSSH server, socat, iproute2 (ip netns), procps (pgrep), and
# the pinned real Codex CLI in a world-readable cache (the lab's server user runs it).
# Not root: prints that lab tests will skip and exits 0.
set -euo pipefail

CODEX_VERSION=0.169.0
CODEX_DIR=${CODEX_WIZARD_LAB_CODEX_DIR:-/var/cache/codex-wizard-lab/codex-$CODEX_VERSION}

log() { echo "lab-deps: $*"; }

if [ "$(id -u)" -ne 0 ]; then
    log "not root: the lab tests need root (network namespaces, a throwaway user) and will skip"
    exit 0
fi

codex_installed() {
    local pkg="$CODEX_DIR/node_modules/@openai/codex/package.json"
    [ -f "$pkg" ] && [ -e "$CODEX_DIR/node_modules/.bin/codex" ] \
        && grep -q "\"version\": *\"$CODEX_VERSION\"" "$pkg"
}

apt_needs() {
    [ -x /usr/sbin/sshd ] || echo openssh-server
    command -v ssh >/dev/null || echo openssh-client
    command -v socat >/dev/null || echo socat
    command -v ip >/dev/null || echo iproute2
    command -v pgrep >/dev/null || echo procps
    command -v python3 >/dev/null || echo python3
    command -v npm >/dev/null || echo nodejs npm  # codex's install and the npm fault tests
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

install_codex() {
    if codex_installed; then
        log "real codex $CODEX_VERSION already in $CODEX_DIR"
    else
        log "npm install @openai/codex@$CODEX_VERSION into $CODEX_DIR"
        mkdir -p "$CODEX_DIR"
        npm install --prefix "$CODEX_DIR" --no-audit --no-fund --save-exact \
            "@openai/codex@$CODEX_VERSION"
    fi
    if ! ls -d "$CODEX_DIR"/node_modules/@openai/codex-*/vendor >/dev/null 2>&1; then
        log "warning: no native @openai/codex-<platform> package in $CODEX_DIR (optional dep)"
    fi
    log "chmod -R a+rX $CODEX_DIR (the lab user must run it)"
    chmod -R a+rX "$CODEX_DIR"
    chmod a+rx "$(dirname "$CODEX_DIR")"
}

install_apt
install_codex
log "done"
