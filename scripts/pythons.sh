# Sourced by scripts/run.sh and scripts/test.sh: the Python versions the project supports, and where to find them.
PYTHONS=(3.13 3.12 3.11)  # newest first

# python_for VERSION: the path of a working interpreter of that version (on PATH, or installed through pyenv), or
# nothing. A pyenv shim of an inactive version is on PATH but fails to run, so each candidate is run once.
python_for() {
  local candidate
  for candidate in "python$1" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$1".*/bin/python; do
    if "$candidate" -c "import sys; sys.exit(f'{sys.version_info[0]}.{sys.version_info[1]}' != '$1')" 2>/dev/null; then
      "$candidate" -c "import sys; print(sys.executable)"
      return
    fi
  done
}

# newest_python: the newest supported interpreter found (3.13, then 3.12, then 3.11), or nothing.
newest_python() {
  local version found
  for version in "${PYTHONS[@]}"; do
    found="$(python_for "$version")"
    if [ -n "$found" ]; then echo "$found"; return; fi
  done
}

# ensure_venv: make .venv with the newest supported Python found (PYTHON=... chooses another) unless it exists.
ensure_venv() {
  [ -x .venv/bin/python ] && return
  PYTHON="${PYTHON:-$(newest_python)}"
  [ -n "$PYTHON" ] || { echo "rupture-sim needs Python 3.11, 3.12 or 3.13; none was found." >&2; exit 1; }
  "$PYTHON" -m venv .venv
}
