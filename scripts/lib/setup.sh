# Shared set-up for scripts/test and scripts/demo: installs what a fresh machine lacks.
# Sourced, not executed. Idempotent: does nothing when everything is present.

# Debian packages the tests and the demo use (binary name → package).
SUPERDIST_APT_PACKAGES=(
  "ip:iproute2"
  "mpv:mpv"
  "ffmpeg:ffmpeg"
)

superdist_install_apt() {
  local missing=() entry bin pkg
  for entry in "${SUPERDIST_APT_PACKAGES[@]}"; do
    bin=${entry%%:*}; pkg=${entry#*:}
    command -v "$bin" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    return 1
  fi
  echo "setup: installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

superdist_install_npm() {
  local stamp=node_modules/.superdist-lock-hash want
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
}

superdist_build() {
  node esbuild.config.mjs
}
