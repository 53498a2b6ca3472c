#!/usr/bin/env bash
# The unit files in systemd/ checked by systemd's own tools: `systemd-analyze verify` (every key
# known, every value valid, commands executable) and the server's `systemd-analyze security`
# exposure kept at most 2.0. systemd-analyze runs offline (no systemd as PID 1 needed), against a
# scratch root that holds the units, stand-ins for the binaries at their packaged paths and a copy
# of the system's own units. Exit 77 (skipped) without systemd-analyze.
set -euo pipefail

units_dir=${1:?usage: verify_units.sh SYSTEMD_UNITS_DIR}
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "SKIPPED: systemd-analyze not found (scripts/deps installs the systemd package)"
  exit 77
fi
system_units=""
for d in /usr/lib/systemd/system /lib/systemd/system; do
  if [ -d "$d" ]; then
    system_units=$d
    break
  fi
done
if [ -z "$system_units" ]; then
  echo "SKIPPED: no system unit directory to verify against"
  exit 77
fi

root=$(mktemp -d "${TMPDIR:-/tmp}/ferry-units.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/lib/systemd" "$root/etc/systemd/system" "$root/usr/bin" "$root/bin"
cp -a "$system_units" "$root/usr/lib/systemd/system"
for b in /usr/bin/ferry-agent /usr/bin/ferry-server /bin/kill; do
  printf '#!/bin/sh\nexit 0\n' >"$root$b"
  chmod 0755 "$root$b"
done

# Fails on a non-zero exit and on any message: systemd-analyze only warns about an unknown key.
verify() {
  local out
  if ! out=$(systemd-analyze verify --root="$root" "$@" 2>&1) || [ -n "$out" ]; then
    printf '%s\n' "$out"
    return 1
  fi
}

failed=0
units=(ferry-agent.service ferry-server.service)
for u in "${units[@]}"; do
  cp "$units_dir/$u" "$root/etc/systemd/system/$u"
done
if verify "${units[@]}"; then
  echo "ok: systemd-analyze verify ${units[*]}"
else
  echo "FAILED: systemd-analyze verify ${units[*]}"
  failed=1
fi

# The check itself can fail: a misspelt key is caught.
sed 's/^KillMode=/KillMod=/' "$units_dir/ferry-agent.service" >"$root/etc/systemd/system/ferry-agent.service"
if verify ferry-agent.service >/dev/null; then
  echo "FAILED: a unit with an unknown key passed verify"
  failed=1
else
  echo "ok: a unit with an unknown key is refused"
fi

# The server's sandbox: exposure at most 2.0 (systemd-analyze's threshold is in tenths).
if systemd-analyze security --offline=true --threshold=20 "$units_dir/ferry-server.service" \
  >"$root/security.txt" 2>&1; then
  echo "ok: $(tail -n 1 "$root/security.txt")"
else
  cat "$root/security.txt"
  echo "FAILED: ferry-server.service exposure above 2.0"
  failed=1
fi
exit $failed
