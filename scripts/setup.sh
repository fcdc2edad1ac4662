#!/usr/bin/env bash
# Installs every Debian package that mtdnn's build, tests and scripts use, plus the
# pinned npm packages of the tokenizer parity check. Idempotent: a second run only
# verifies. Needs root (or sudo) on Debian 12 / Ubuntu 22.04+.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ccache
  # benchmark and script tools
  jq bc time
  # libraries the build finds with find_package
  libtorch-dev libopenblas0-pthread libopenblas-dev
  libopenmpi-dev openmpi-bin
  libhdf5-dev hdf5-tools
  libboost-program-options-dev libfmt-dev libgtest-dev googletest
  libyaml-cpp-dev nlohmann-json3-dev libutf8proc-dev libgloo-dev
  # one-node Slurm cluster for the sbatch templates (scripts/local-slurm.sh)
  slurmctld slurmd slurm-client munge
  # libFuzzer targets
  clang libclang-rt-14-dev
  # golden values and plots (Debian's interpreter: /usr/bin/python3)
  python3-torch python3-h5py python3-numpy python3-matplotlib
  # Hugging Face tokenizers parity check (npm package, see tests/hf/)
  nodejs
)

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm ships with nodesource's nodejs; Debian's nodejs needs the separate npm package.
command -v npm >/dev/null || DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq npm

here=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -d "$here/tests/hf/node_modules/tokenizers" ]; then
  (cd "$here/tests/hf" && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "setup: all packages present"
