# The project's Python environment (sourced by scripts/setup.sh and scripts/venv-python):
# one virtual environment per version of requirements.lock, outside the clone, so a fresh
# clone on the same machine reuses it and a changed lock gets a new one.
#   mtdnn_venv_dir     ${MTDNN_VENV_ROOT:-${XDG_CACHE_HOME:-~/.cache}/mtdnn}/venv-<sha256 of the lock, 16 hex>
#   mtdnn_venv_ready   true when that environment was installed to the end
mtdnn_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mtdnn_lock=$mtdnn_repo/requirements.lock
mtdnn_venv_dir=${MTDNN_VENV_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/mtdnn}/venv-$(sha256sum "$mtdnn_lock" | cut -c1-16)
# setup.sh writes this marker last: a half-installed environment (an interrupted setup) has none.
mtdnn_venv_marker=$mtdnn_venv_dir/.mtdnn-complete
mtdnn_venv_ready() { [ -f "$mtdnn_venv_marker" ] && [ -x "$mtdnn_venv_dir/bin/python" ]; }
