#!/usr/bin/env bash
# Installs every Debian package that mtdnn's build, tests and scripts use, and every Python
# package (requirements.lock, pinned: the PyTorch wheel whose LibTorch with CUDA the build
# uses, tokenizers, transformers, tensorboard, ...) into one virtual environment outside the
# clone (scripts/lib/venv.sh says where). Idempotent: a second run only verifies. Needs root
# (or sudo) on Debian 12 / Ubuntu 22.04+; PyPI reachable the first time a lock is installed.
# The CUDA toolkit (nvcc, of the wheel's CUDA major version) is the machine's: see docs/gpu.md.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ccache
  # benchmark and script tools
  jq bc time curl
  # libraries the build finds with find_package
  libtorch-dev libopenblas0-pthread libopenblas-dev
  libopenmpi-dev openmpi-bin
  libhdf5-dev hdf5-tools
  libboost-program-options-dev libfmt-dev libgtest-dev googletest
  libyaml-cpp-dev nlohmann-json3-dev libutf8proc-dev libgloo-dev
  # one-node Slurm cluster for the sbatch templates (scripts/local-slurm.sh)
  slurmctld slurmd slurm-client munge
  # the two-node cluster of network namespaces (tests/cluster/netns_cluster.sh)
  iproute2 util-linux
  # libFuzzer targets
  clang libclang-rt-14-dev
  # LibTorch 1.13's golden checks, plots and reproduce.sh's statistics (Debian's interpreter: /usr/bin/python3)
  python3-torch python3-h5py python3-numpy python3-matplotlib python3-scipy
  # the virtual environment of requirements.lock
  python3 python3-venv
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

# --- The Python environment: exactly the packages of requirements.lock ---------------------
source "$(dirname "$0")/lib/venv.sh"
if ! mtdnn_venv_ready; then
  base_python=${MTDNN_BASE_PYTHON:-python3}
  echo "setup: installing requirements.lock into $mtdnn_venv_dir (with $($base_python --version))"
  rm -rf "$mtdnn_venv_dir"
  mkdir -p "$(dirname "$mtdnn_venv_dir")"
  "$base_python" -m venv "$mtdnn_venv_dir"
  # --no-deps: the lock lists every package; pip check then proves the list is whole.
  "$mtdnn_venv_dir/bin/python" -m pip install -q --disable-pip-version-check --no-deps -r "$mtdnn_lock"
  "$mtdnn_venv_dir/bin/python" -m pip check
  touch "$mtdnn_venv_marker"
fi
echo "setup: all packages present (Python: $mtdnn_venv_dir)"
