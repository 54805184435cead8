# Shared by scripts/demo and scripts/test: where cargo builds. The target directory lives outside
# the clone so a fresh clone reuses an earlier build (CTranslate2 alone takes minutes).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cobranza/target}"
mkdir -p "$CARGO_TARGET_DIR"
