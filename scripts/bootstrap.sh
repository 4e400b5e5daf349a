#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks to build (and, with --tests, to test) mindalpha-pool.
# Silent and quick when everything is present.
#   scripts/bootstrap.sh          libreadline-dev (the REPL links GNU readline)
#   scripts/bootstrap.sh --tests  also what tests drive: flatbuffers-compiler, openssl, tmux, groff, man-db, mandoc, zsh, fish, librsvg2-bin,
#                                 and from PyPI py-consul, python-hcl2, PyYAML
set -euo pipefail

missing=()
dpkg -s libreadline-dev >/dev/null 2>&1 || missing+=(libreadline-dev)
if [ "${1:-}" = "--tests" ]; then
  command -v flatc >/dev/null 2>&1 || missing+=(flatbuffers-compiler)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)  # a test certificate for Consul over https
  command -v tmux >/dev/null 2>&1 || missing+=(tmux)        # the REPL driven as a person would, in a terminal
  command -v groff >/dev/null 2>&1 || missing+=(groff-base) # the man page checked (groff -man -ww -z)
  command -v man >/dev/null 2>&1 || missing+=(man-db)       # ... and found and rendered (man -l, man -M)
  command -v mandoc >/dev/null 2>&1 || missing+=(mandoc)    # ... and linted (mandoc -T lint)
  command -v zsh >/dev/null 2>&1 || missing+=(zsh)          # the completions, driven in each shell
  command -v fish >/dev/null 2>&1 || missing+=(fish)
  command -v rsvg-convert >/dev/null 2>&1 || missing+=(librsvg2-bin)  # report plot's SVG rendered to PNG by a real renderer
fi
# Python packages from PyPI that tests use as judges: py-consul (a third-party Consul client) against consul-dev's
# key/value API; python-hcl2 and PyYAML to read the Nomad and Kubernetes job files.
if [ "${1:-}" = "--tests" ] && command -v python3 >/dev/null 2>&1; then
  pip=()
  python3 -c 'import consul' >/dev/null 2>&1 || pip+=(py-consul==1.8.0)
  python3 -c 'import hcl2' >/dev/null 2>&1 || pip+=(python-hcl2==8.1.4)
  python3 -c 'import yaml' >/dev/null 2>&1 || pip+=(PyYAML)
  if [ ${#pip[@]} -gt 0 ]; then
    echo "bootstrap: installing ${pip[*]} (pip)" >&2
    pip_log=$(mktemp)
    if ! python3 -m pip install -q --disable-pip-version-check "${pip[@]}" >"$pip_log" 2>&1; then
      cat "$pip_log" >&2
      echo "bootstrap: pip could not install ${pip[*]}" >&2
      exit 1
    fi
    rm -f "$pip_log"
  fi
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v swift >/dev/null 2>&1; then
  echo "bootstrap: swift is not on PATH; install a Swift 6 toolchain first" >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then sudo=()
elif command -v sudo >/dev/null 2>&1; then sudo=(sudo)
else
  echo "bootstrap: missing ${missing[*]} and not root (no sudo): install them with apt-get" >&2
  exit 1
fi
echo "bootstrap: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { "${sudo[@]}" apt-get update -qq && \
       "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "bootstrap: apt-get could not install ${missing[*]}" >&2
  exit 1
fi
