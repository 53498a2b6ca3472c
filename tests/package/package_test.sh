#!/usr/bin/env bash
# The Debian packages, for real, on this machine: cpack builds ferry-agent and ferry-server from
# this build; lintian checks them; dpkg installs them (files, owners, modes, conffiles, the
# user, the enabled units); the installed programs serve (ferry-server as its user on its data
# dir, ferry-agent registered into /var/lib/ferry through the installed `ferry` client); the
# packages are upgraded over themselves while a task runs and the agent restarted as the unit's
# ExecReload/try-restart would, and the task's result arrives; then both are purged and nothing
# of theirs is left.
#
# Needs root (dpkg). systemd is not PID 1 in a test container: the postinst scripts then only
# enable the units, and this test starts the programs itself. Exit 77 (ctest: skipped, with the
# reason printed) when not root, or when a ferry package is already installed here that this
# test did not install (it never replaces one).
#   BUILD_DIR=build SOURCE_DIR=. tests/package/package_test.sh
set -euo pipefail

: "${BUILD_DIR:?set BUILD_DIR to a build directory with the four programs}"
: "${SOURCE_DIR:?set SOURCE_DIR to the source tree}"
BUILD_DIR="$(cd "$BUILD_DIR" && pwd)"
SOURCE_DIR="$(cd "$SOURCE_DIR" && pwd)"

fails=0
passes=0
ok() { passes=$((passes + 1)); echo "ok - $*"; }
not_ok() { fails=$((fails + 1)); echo "not ok - $*"; }
check() { # check DESCRIPTION COMMAND...
  local what="$1"
  shift
  if "$@"; then ok "$what"; else not_ok "$what"; fi
}
skip() { echo "SKIPPED: $*"; exit 77; }

[ "$(id -u)" -eq 0 ] || skip "dpkg -i needs root"
for p in ferry-agent ferry-server; do
  if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'installed'; then
    skip "$p is installed on this machine; this test does not replace it"
  fi
done
for tool in cpack lintian dpkg-deb python3; do
  command -v "$tool" >/dev/null || { echo "not ok - $tool is missing (scripts/deps)"; exit 1; }
done

work="$(mktemp -d /tmp/ferry-package-test.XXXXXX)"
server_pid=""
agent_pid=""
installed=0
cleanup() {
  [ -n "$agent_pid" ] && kill -KILL "$agent_pid" 2>/dev/null || true
  [ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null || true
  if [ "$installed" -eq 1 ]; then
    dpkg --purge ferry-agent ferry-server >/dev/null 2>&1 || true
  fi
  pkill -KILL -f 'ferry-supervise.*ferry-package-test' 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# --- build and lint ---------------------------------------------------------------------------
(umask 022 && cd "$BUILD_DIR" && cpack -G DEB -B "$work/dist" --config CPackConfig.cmake \
  >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; echo "not ok - cpack failed"; exit 1; }
version="$(sed -n 's/^project(ferry VERSION \([0-9.]*\).*/\1/p' "$SOURCE_DIR/CMakeLists.txt")"
agent_deb="$work/dist/ferry-agent_${version}-1_amd64.deb"
server_deb="$work/dist/ferry-server_${version}-1_amd64.deb"
check "cpack made $(basename "$agent_deb")" test -f "$agent_deb"
check "cpack made $(basename "$server_deb")" test -f "$server_deb"
[ "$fails" -eq 0 ] || exit 1

for deb in "$agent_deb" "$server_deb"; do
  name="$(basename "$deb")"
  # Overrides ship in the packages (/usr/share/lintian/overrides), each with its reason.
  if lintian --fail-on error,warning --tag-display-limit 0 "$deb" >"$work/lintian.log" 2>&1; then
    ok "lintian: no error or warning in $name"
  else
    not_ok "lintian: $name"
    cat "$work/lintian.log"
  fi
done

# --- install -----------------------------------------------------------------------------------
if dpkg -i "$agent_deb" "$server_deb" >"$work/dpkg.log" 2>&1; then
  installed=1
  ok "dpkg -i installs both"
else
  cat "$work/dpkg.log"
  not_ok "dpkg -i"
  exit 1
fi

mode_owner() { stat -c '%a %U:%G' "$1" 2>/dev/null; }
expect_stat() { # PATH "MODE USER:GROUP"
  local got
  got="$(mode_owner "$1")"
  if [ "$got" = "$2" ]; then ok "$1 is $2"; else not_ok "$1 is '$got', not $2"; fi
}
for f in /usr/bin/ferry-agent /usr/bin/ferry-supervise /usr/bin/ferry-server /usr/bin/ferry; do
  expect_stat "$f" "755 root:root"
done
for f in /lib/systemd/system/ferry-agent.service /lib/systemd/system/ferry-server.service \
  /etc/ferry/ferry-agent.json /etc/ferry/ferry-server.json \
  /usr/share/man/man8/ferry-agent.8.gz /usr/share/man/man1/ferry.1.gz \
  /usr/share/doc/ferry-agent/copyright /usr/share/doc/ferry-server/changelog.Debian.gz; do
  expect_stat "$f" "644 root:root"
done
expect_stat /etc/ferry "755 root:root"
expect_stat /var/lib/ferry "711 root:root"
expect_stat /var/lib/ferry-server "700 ferry-server:ferry-server"
check "the ferry-server user is a system user without a login shell" \
  bash -c '[ "$(getent passwd ferry-server | cut -d: -f3)" -lt 1000 ] &&
    getent passwd ferry-server | grep -q ":/usr/sbin/nologin$"'
check "the configs are conffiles" bash -c \
  "dpkg-query -W -f='\${Conffiles}' ferry-agent | grep -q /etc/ferry/ferry-agent.json &&
   dpkg-query -W -f='\${Conffiles}' ferry-server | grep -q /etc/ferry/ferry-server.json"
for unit in ferry-agent ferry-server; do
  check "$unit.service is enabled" test -L "/etc/systemd/system/multi-user.target.wants/$unit.service"
done
check "dpkg --verify finds every file as packaged" dpkg --verify ferry-agent ferry-server
check "ferry-agent finds ferry-supervise beside it" test -x "$(dirname "$(command -v ferry-agent)")/ferry-supervise"

# --- the installed programs serve --------------------------------------------------------------
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
endpoint="http://127.0.0.1:$port"
# As the unit runs it: its user, its config, its data dir.
setpriv --reuid=ferry-server --regid=ferry-server --init-groups \
  /usr/bin/ferry-server --config /etc/ferry/ferry-server.json --listen "127.0.0.1:$port" \
  >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  [ -f /var/lib/ferry-server/credentials.json ] && grep -q "listening" "$work/server.log" && break
  sleep 0.1
done
check "ferry-server runs as its user and writes its credentials 0600" \
  test "$(mode_owner /var/lib/ferry-server/credentials.json)" = "600 ferry-server:ferry-server"
ferry_cli() {
  /usr/bin/ferry --endpoint "$endpoint" --credentials-file /var/lib/ferry-server/credentials.json \
    --json "$@"
}
code_json="$(ferry_cli register-code create --name pkg --limit 1)"
code_id="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["RegisterCodeId"])' <<<"$code_json")"
code="$(python3 -c 'import json,sys; print(json.load(sys.stdin)["RegisterCodeValue"])' <<<"$code_json")"
instance="$(FERRY_REGISTER_CODE="$code" /usr/bin/ferry-agent register --server "$endpoint" \
  --register-code-id "$code_id" --state-dir /var/lib/ferry 2>>"$work/agent.log" | tail -1)"
check "ferry-agent registers into /var/lib/ferry: $instance" test -f /var/lib/ferry/identity.json

start_agent() {
  /usr/bin/ferry-agent --config /etc/ferry/ferry-agent.json >>"$work/agent.log" 2>&1 &
  agent_pid=$!
}
start_agent
wait_task() { # INVOCATION STATUS SECONDS: the task's status once it is STATUS, or the last seen
  local status=""
  for _ in $(seq 1 $(($3 * 5))); do
    status="$(ferry_cli tasks --invocation "$1" |
      python3 -c 'import json,sys; t=json.load(sys.stdin)["InvocationTaskSet"]; print(t[0]["TaskStatus"] if t else "")')"
    [ "$status" = "$2" ] && break
    sleep 0.2
  done
  echo "$status"
}
inv="$(ferry_cli run --no-wait -i "$instance" --timeout 60 -- 'sleep 15; echo survived the upgrade' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["InvocationId"])')"
check "a task runs on the installed agent" test "$(wait_task "$inv" RUNNING 30)" = RUNNING

# --- upgrade over itself while the task runs ---------------------------------------------------
if dpkg -i "$agent_deb" "$server_deb" >"$work/upgrade.log" 2>&1; then
  ok "dpkg -i upgrades both over themselves"
else
  cat "$work/upgrade.log"
  not_ok "the upgrade"
fi
check "the agent (not restarted without systemd) is still up" kill -0 "$agent_pid"
check "the task is still running when the agent restarts" \
  test "$(wait_task "$inv" RUNNING 1)" = RUNNING
# What `systemctl restart ferry-agent` does under the unit's KillMode=process: SIGTERM to the
# agent only; the task's supervisor finishes it.
kill -TERM "$agent_pid"
wait "$agent_pid" || true
start_agent
check "the task's result arrives after the restart: SUCCESS" test "$(wait_task "$inv" SUCCESS 60)" = SUCCESS
check "with its output" bash -c "/usr/bin/ferry --endpoint '$endpoint' \
  --credentials-file /var/lib/ferry-server/credentials.json tasks --invocation '$inv' --output |
  grep -q 'survived the upgrade'"

# --- purge ------------------------------------------------------------------------------------
kill -TERM "$agent_pid" "$server_pid" 2>/dev/null || true
wait "$agent_pid" "$server_pid" 2>/dev/null || true
agent_pid=""
server_pid=""
if dpkg --purge ferry-agent ferry-server >"$work/purge.log" 2>&1; then
  installed=0
  ok "dpkg --purge removes both"
else
  cat "$work/purge.log"
  not_ok "dpkg --purge"
fi
for gone in /usr/bin/ferry-agent /usr/bin/ferry-server /usr/bin/ferry /etc/ferry /var/lib/ferry \
  /var/lib/ferry-server /lib/systemd/system/ferry-agent.service \
  /etc/systemd/system/multi-user.target.wants/ferry-agent.service \
  /etc/systemd/system/multi-user.target.wants/ferry-server.service; do
  check "purged: $gone" test ! -e "$gone"
done

if [ "$fails" -ne 0 ]; then
  echo "# ferry-server log:"; tail -20 "$work/server.log"
  echo "# ferry-agent log:"; tail -30 "$work/agent.log"
fi
echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
