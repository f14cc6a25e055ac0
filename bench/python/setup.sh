#!/usr/bin/env bash
# Installs the Python baselines' dependencies from Debian (never pip): scikit-learn, PyTorch,
# Optuna and threadpoolctl, for Debian's own interpreter /usr/bin/python3. The python3 first on
# PATH may be another one (pyenv here), which does not see Debian's packages, so every baseline
# is run with /usr/bin/python3 explicitly.
#
# Idempotent: installs only what is missing, and runs `apt-get update` once, only then.
# Prints one JSON line on stdout describing the interpreter, the package versions and the BLAS
# kernel numpy uses (threadpoolctl's threadpool_info()); everything else goes to stderr.
#
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset together for each Python run, in that command
# only (`env -u … -u …`), so OpenBLAS picks its kernel by detecting the CPU itself.
set -euo pipefail

PY=/usr/bin/python3
PACKAGES=(python3-sklearn python3-torch python3-optuna python3-threadpoolctl)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} > 0)); then
  echo "setup.sh: installing ${missing[*]} with apt-get" >&2
  if [[ $(id -u) -eq 0 ]]; then SUDO=(); else SUDO=(sudo); fi
  # Wait for another apt/dpkg run (another process may be installing) instead of failing.
  LOCK=(-o DPkg::Lock::Timeout=900)
  "${SUDO[@]}" apt-get "${LOCK[@]}" update >&2
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get "${LOCK[@]}" install -y --no-install-recommends "${missing[@]}" >&2
else
  echo "setup.sh: ${PACKAGES[*]} already installed" >&2
fi

echo "setup.sh: python3 on PATH is $(command -v python3 || echo none); the baselines use $PY" >&2

env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$PY" "$(dirname "$0")/blas_info.py"
