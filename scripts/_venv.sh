# shellcheck shell=bash
# Sourced by scripts/run, scripts/test and scripts/bench (from the repository's root):
# `venv_from_lock run|test` makes .venv hold exactly the lock's versions (requirements.txt for
# run, requirements-test.txt for test), each file checked against the lock's sha256, plus this
# package (editable).
#
# Idempotent: .venv/codex-wizard.lock keeps a copy of the lock and pyproject.toml it was set up
# from (compared with cmp: no Python start on every scripts/run); while they are unchanged nothing
# is installed. When they change, .venv is made afresh, so nothing the lock no longer names stays
# behind. The test lock pins the run lock's versions and more, so a .venv set up for the tests serves
# scripts/run too, and one set up by scripts/run is completed rather than made afresh.

_pip_quiet=(-qq --disable-pip-version-check --no-input)

_set_up_from() {  # lock: is .venv set up from this lock and the present pyproject.toml?
    [ -x .venv/bin/python ] && cat "$1" pyproject.toml | cmp -s - .venv/codex-wizard.lock
}

venv_from_lock() {  # run|test
    local lock=requirements.txt
    if [ "$1" = test ]; then lock=requirements-test.txt; fi
    if _set_up_from "$lock" || { [ "$1" = run ] && _set_up_from requirements-test.txt; }; then
        return 0
    fi
    if ! { [ "$1" = test ] && _set_up_from requirements.txt; }; then
        python3 -m venv --clear .venv
    fi
    # No `pip install --upgrade pip`: the venv's own pip does, and nothing unlocked is fetched.
    # --no-deps: the lock names every package already; with --require-hashes pip refuses any
    # file whose sha256 is not in it.
    .venv/bin/python -m pip install "${_pip_quiet[@]}" --require-hashes --no-deps -r "$lock"
    # The package itself, built by the locked setuptools (no isolated build fetching another).
    .venv/bin/python -m pip install "${_pip_quiet[@]}" --no-deps --no-build-isolation -e .
    local broken
    if ! broken=$(.venv/bin/python -m pip check --disable-pip-version-check 2>&1); then
        echo "$lock does not satisfy pyproject.toml (run scripts/lock):" >&2
        echo "$broken" >&2
        return 1
    fi
    cat "$lock" pyproject.toml >.venv/codex-wizard.lock
}
