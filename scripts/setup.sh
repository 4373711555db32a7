#!/usr/bin/env bash
# One-step set-up on a fresh machine: a virtual environment in .venv with netgen installed
# (editable) and its test tools. torch is pinned here, not in pyproject.toml, because an
# open range makes pip fetch the newest CUDA build (several GB); 2.13.0 is the CPU build.
# Installs graphviz's `dot` with apt when it is missing and we are root; netgen still
# writes .gv files without it. Also Chromium and its driver (Debian's chromium, chromium-driver),
# which the browser test of `netgen view` drives headless. Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

TORCH_PIN="torch==2.13.0"
TORCHVISION_PIN="torchvision==0.28.0"

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.netgen-setup
want="$(cat pyproject.toml setup.py scripts/setup.sh | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check "$TORCH_PIN" "$TORCHVISION_PIN"
  # The distribution was called `netgen` before it became `netgen-blueprints`; drop that old
  # editable install so that one finder, not two, maps `import netgen` onto this checkout.
  if .venv/bin/python -m pip show -q netgen >/dev/null 2>&1; then
    .venv/bin/python -m pip uninstall -y -q netgen
  fi
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]" "$TORCH_PIN" "$TORCHVISION_PIN"
  echo "$want" > "$stamp"
fi

if ! command -v dot >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null) \
      || echo "setup: could not install graphviz; diagrams will be written as .gv only" >&2
  else
    echo "setup: graphviz's dot is missing; install it (apt-get install graphviz) for SVG/PDF/PNG diagrams" >&2
  fi
fi

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
      || echo "setup: could not install chromium; tests/test_render_view.py will fail until it is" >&2
  else
    echo "setup: chromium and chromedriver are missing; install them (apt-get install chromium chromium-driver)" \
      "for the browser test of netgen view" >&2
  fi
fi
