#!/bin/sh
# tests/packaging/check_packaging.sh: checks what an operator installs, the way systemd and
# dpkg will see it. Registered by cmake/packaging.cmake:
#
#   check_packaging.sh unit    BUILD_DIR SOURCE_DIR BINARY   (CTest: systemd_unit_verify)
#     systemd-analyze verify of systemd/servicedesk.service (and of servicedesk-portal.service,
#     the same checks) in a throwaway root that holds
#     the built binary at ExecStart's path, `systemd-analyze security --offline` at an
#     exposure of at most SD_MAX_EXPOSURE (default 2.0; docs/operations.md records it), and
#     the unit `cmake --install --prefix /usr/local` stages, whose ExecStart must
#     follow the prefix.
#   check_packaging.sh deb     BUILD_DIR SOURCE_DIR BINARY   (CTest: packaging_deb)
#     cpack -G DEB into a temporary directory, dpkg-deb -x into a throwaway root, then: the
#     files sit where the unit and the config expect them, the shipped config loads, the
#     credentials the config names are the ones the unit loads, Depends/Recommends name
#     real Debian packages (apt-cache policy; skipped without apt lists), conffiles and
#     maintainer scripts are sound, sysusers/tmpfiles apply, and the unit as shipped verifies.
#   check_packaging.sh manpage BUILD_DIR SOURCE_DIR BINARY   (CTest: manpage_subcommands)
#     every subcommand `servicedesk --help` lists (nested too) has its section in
#     docs/servicedesk.1, and groff renders the page without warnings.
#
# Diagnostics: each failed check prints "FAIL: what"; the script exits 1 after all checks of
# the mode ran, 77 (CTest skip) when a needed tool is missing, 0 otherwise. Everything it
# makes lives in one mktemp directory, removed on exit; nothing touches the host's /etc,
# /lib or /var.
set -eu

mode=${1:?mode: unit, deb or manpage}
build_dir=${2:?build directory}
source_dir=${3:?source directory}
binary=${4:?the built servicedesk binary}
unit_name=servicedesk.service
max_exposure=${SD_MAX_EXPOSURE:-2.0}

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
need() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool not installed"; exit 77; }
  done
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sd-packaging.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# The program of an Exec*= line: first word, without the prefixes -@:+! systemd allows.
exec_path() { sed -n "s/^$1=[-@:+!]*\([^ ]*\).*/\1/p" "$2" | head -n 1; }

# Gives ROOT what `systemd-analyze verify --root` looks up besides our own files: the
# targets and slices the unit's dependencies pull in, and every Exec*= program that is not
# ours (/bin/kill), copied from the host. Our binary must come from the caller.
prepare_verify_root() {
  root=$1
  unit=$2
  mkdir -p "$root/usr/lib/systemd/system"
  for f in /usr/lib/systemd/system/*.target /usr/lib/systemd/system/*.slice; do
    [ -e "$f" ] && cp -P "$f" "$root/usr/lib/systemd/system/"
  done
  for key in ExecStartPre ExecStartPost ExecReload ExecStop ExecStopPost; do
    prog=$(exec_path "$key" "$unit")
    [ -n "$prog" ] || continue
    case "$prog" in */servicedesk) continue ;; esac
    if [ ! -e "$root$prog" ] && [ -x "$prog" ]; then
      mkdir -p "$root$(dirname "$prog")"
      cp "$(readlink -f "$prog")" "$root$prog"
    fi
  done
}

# verify ROOT UNIT_PATH MANPATH: systemd-analyze verify, man: links looked up in MANPATH.
verify_unit() {
  if out=$(MANPATH=$3 systemd-analyze verify --root="$1" "$2" 2>&1) && [ -z "$out" ]; then
    ok "systemd-analyze verify $2"
  else
    fail "systemd-analyze verify $2:"
    echo "$out"
    # It runs `man` for the unit's Documentation= man: link; a minimal Debian has none.
    command -v man >/dev/null 2>&1 || echo "hint: man(1) is not installed: apt-get install man-db (scripts/deps does)"
  fi
}

security_unit() {
  out=$(systemd-analyze security --offline=true --no-pager "$1" 2>&1) || true
  score=$(echo "$out" | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
  if [ -z "$score" ]; then
    fail "systemd-analyze security gave no score:"
    echo "$out"
  elif awk -v s="$score" -v m="$max_exposure" 'BEGIN { exit !(s <= m) }'; then
    ok "systemd-analyze security: exposure $score (at most $max_exposure)"
  else
    fail "systemd-analyze security: exposure $score is above $max_exposure; open items:"
    echo "$out" | grep '✗' || true
  fi
}

check_unit() {
  need systemd-analyze
  root=$tmp/root
  unit=$root/lib/systemd/system/$unit_name
  mkdir -p "$(dirname "$unit")" "$root/usr/share/man/man1"
  cp "$source_dir/systemd/$unit_name" "$unit"
  start=$(exec_path ExecStart "$unit")
  mkdir -p "$root$(dirname "$start")"
  cp "$binary" "$root$start"
  cp "$source_dir/docs/servicedesk.1" "$root/usr/share/man/man1/"
  prepare_verify_root "$root" "$unit"
  verify_unit "$root" "$unit" "$root/usr/share/man"
  security_unit "$unit"

  # `cmake --install` under another prefix points ExecStart at that prefix's binary.
  need cmake
  staged=$tmp/staged
  prefix=/usr/local
  if DESTDIR=$staged cmake --install "$build_dir" --prefix "$prefix" >"$tmp/install.log" 2>&1; then
    unit=$staged$prefix/lib/systemd/system/$unit_name
    start=$(exec_path ExecStart "$unit" 2>/dev/null || true)
    [ "$start" = "$prefix/bin/servicedesk" ] && [ -x "$staged$start" ] &&
      ok "cmake --install --prefix $prefix: ExecStart=$start" ||
      fail "cmake --install --prefix $prefix: unit's ExecStart is '$start'"
    [ ! -e "$staged/etc/servicedesk/servicedesk.toml" ] || fail "cmake --install --prefix $prefix wrote to /etc"
    prepare_verify_root "$staged" "$unit"
    verify_unit "$staged" "$unit" "$staged$prefix/share/man"
  else
    cat "$tmp/install.log"
    fail "cmake --install --prefix $prefix"
  fi
}

# A Depends/Recommends field's package names: alternatives split, versions and arch
# qualifiers dropped.
field_names() {
  echo "$1" | tr ',|' '\n\n' | sed 's/(.*)//; s/:any//; s/^ *//; s/ *$//' | grep -v '^$' || true
}

check_deb() {
  need cpack dpkg-deb dpkg-shlibdeps systemd-analyze
  (cd "$build_dir" && cpack -G DEB -B "$tmp/out" >"$tmp/cpack.log" 2>&1) || {
    cat "$tmp/cpack.log"
    fail "cpack -G DEB"
    return
  }
  deb=$(ls "$tmp"/out/*.deb 2>/dev/null | head -n 1)
  [ -n "$deb" ] || { fail "cpack made no .deb"; cat "$tmp/cpack.log"; return; }
  ok "built $(basename "$deb")"
  root=$tmp/root
  dpkg-deb -x "$deb" "$root"
  dpkg-deb -e "$deb" "$tmp/control"

  unit=$root/lib/systemd/system/$unit_name
  [ -f "$unit" ] && ok "unit in /lib/systemd/system" || { fail "no /lib/systemd/system/$unit_name"; return; }
  start=$(exec_path ExecStart "$unit")
  [ "$start" = /usr/bin/servicedesk ] || fail "ExecStart runs $start, not /usr/bin/servicedesk"
  [ -x "$root$start" ] && ok "ExecStart's $start is in the package" || fail "ExecStart's $start is not in the package"
  for f in /usr/share/man/man1/servicedesk.1.gz /usr/share/doc/servicedesk/examples/servicedesk.example.toml \
           /usr/share/doc/servicedesk/operations.md /etc/servicedesk/servicedesk.toml \
           /usr/lib/sysusers.d/servicedesk.conf /usr/lib/tmpfiles.d/servicedesk.conf; do
    [ -f "$root$f" ] && ok "$f" || fail "$f is not in the package"
  done
  cmp -s "$root/etc/servicedesk/servicedesk.toml" "$root/usr/share/doc/servicedesk/examples/servicedesk.example.toml" ||
    fail "/etc/servicedesk/servicedesk.toml differs from the example"
  conf=$root/etc/servicedesk/servicedesk.toml
  # `servicedesk run` refuses a config others may read or change.
  [ "$(stat -c %a "$conf")" = 640 ] && ok "config is mode 0640" || fail "config is mode $(stat -c %a "$conf"), not 0640"

  # The config names its secrets under /run/credentials/servicedesk.service/; each must be
  # a credential the unit loads, and the store must sit in the unit's StateDirectory.
  for cred in $(grep -o '/run/credentials/servicedesk.service/[A-Za-z0-9_.-]*' "$conf" | sed 's|.*/||' | sort -u); do
    grep -q "^LoadCredential=$cred:" "$unit" && ok "credential $cred is loaded by the unit" ||
      fail "the config reads credential $cred, which the unit does not load"
  done
  state=$(sed -n 's/^StateDirectory=\([^ ]*\).*/\1/p' "$unit")
  grep -q "^path = \"/var/lib/$state/" "$conf" && ok "store.path is in StateDirectory=$state" ||
    fail "store.path is outside /var/lib/$state (ProtectSystem=strict would make it read-only)"

  # The packaged (stripped) binary runs and the shipped config loads.
  "$root/usr/bin/servicedesk" --help >/dev/null && ok "packaged binary runs" || fail "packaged binary: --help failed"
  if "$root/usr/bin/servicedesk" --config "$conf" sla holidays --calendar dk --year 2026 >/dev/null 2>"$tmp/conf.err"; then
    ok "shipped config loads"
  else
    fail "shipped config does not load:"
    cat "$tmp/conf.err"
  fi

  # Control data.
  grep -qx /etc/servicedesk/servicedesk.toml "$tmp/control/conffiles" && ok "config is a conffile" ||
    fail "/etc/servicedesk/servicedesk.toml is not in conffiles"
  while read -r f; do
    [ -f "$root$f" ] || fail "conffile $f is not in the package"
  done <"$tmp/control/conffiles"
  grep -q 'dpkg-statoverride --update --add root servicedesk 0640 /etc/servicedesk/servicedesk.toml' \
    "$tmp/control/postinst" && ok "postinst gives the config to group servicedesk" ||
    fail "postinst does not make the config root:servicedesk 0640"
  for s in postinst prerm postrm; do
    [ -x "$tmp/control/$s" ] && sh -n "$tmp/control/$s" && ok "$s" || fail "$s missing, not executable or not valid sh"
  done
  depends=$(dpkg-deb -f "$deb" Depends)
  recommends=$(dpkg-deb -f "$deb" Recommends)
  echo "Depends: $depends"
  echo "Recommends: $recommends"
  for lib in libc6 libcurl4 libsqlite3-0 libssl3 libstdc++6 tzdata; do
    field_names "$depends" | grep -qx "$lib" || fail "Depends lacks $lib"
  done
  if command -v apt-cache >/dev/null 2>&1 && ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
    for name in $(field_names "$depends"; field_names "$recommends"); do
      candidate=$(apt-cache policy "$name" 2>/dev/null | sed -n 's/^ *Candidate: //p')
      if [ -n "$candidate" ] && [ "$candidate" != "(none)" ]; then
        ok "$name is a Debian package ($candidate)"
      else
        fail "$name is not a package apt knows"
      fi
    done
  else
    echo "note: no apt lists, package names not checked (run apt-get update)"
  fi

  # sysusers and tmpfiles applied to the throwaway root (tmpfiles chowns: root only).
  mkdir -p "$root/etc"
  if command -v systemd-sysusers >/dev/null 2>&1; then
    if systemd-sysusers --root="$root" servicedesk.conf >"$tmp/sysusers.log" 2>&1 &&
       grep -q '^servicedesk:' "$root/etc/passwd"; then
      ok "sysusers.d creates the servicedesk user"
    else
      fail "systemd-sysusers:"
      cat "$tmp/sysusers.log"
    fi
    if [ "$(id -u)" = 0 ] && command -v systemd-tmpfiles >/dev/null 2>&1; then
      if systemd-tmpfiles --root="$root" --create servicedesk.conf >"$tmp/tmpfiles.log" 2>&1 &&
         [ "$(stat -c %a "$root/var/lib/servicedesk")" = 750 ]; then
        ok "tmpfiles.d creates /var/lib/servicedesk 0750"
      else
        fail "systemd-tmpfiles:"
        cat "$tmp/tmpfiles.log"
      fi
    fi
  fi

  prepare_verify_root "$root" "$unit"
  verify_unit "$root" "$unit" "$root/usr/share/man"
  security_unit "$unit"
}

check_manpage() {
  # Section names as written, with roff's \- read as a hyphen.
  page=$tmp/servicedesk.1
  sed 's/\\-/-/g' "$source_dir/docs/servicedesk.1" >"$page"
  # Subcommands as CLI11 lists them: the lines after "Subcommands:", first word each.
  subcommands() { "$binary" "$@" --help 2>/dev/null | sed -n '/^Subcommands:/,$p' | sed -n 's/^  \([a-z][a-z0-9-]*\) .*/\1/p'; }
  for top in $(subcommands); do
    nested=$(subcommands "$top")
    if [ -z "$nested" ]; then
      grep -q "^\.SS \"\?$top\b" "$page" && ok "man page: $top" || fail "man page has no .SS section for '$top'"
    else
      for sub in $nested; do
        grep -q "^\.SS \"\?$top $sub\b" "$page" && ok "man page: $top $sub" ||
          fail "man page has no .SS section for '$top $sub'"
      done
    fi
  done
  if command -v groff >/dev/null 2>&1; then
    warnings=$(LC_ALL=C.UTF-8 groff -man -ww -z -Tutf8 "$source_dir/docs/servicedesk.1" 2>&1)
    [ -z "$warnings" ] && ok "groff: no warnings" || { fail "groff warns:"; echo "$warnings"; }
  fi
}

case "$mode" in
  unit) for unit_name in servicedesk.service servicedesk-portal.service; do check_unit; done ;;
  deb) check_deb ;;
  manpage) check_manpage ;;
  *) echo "unknown mode $mode"; exit 2 ;;
esac
[ "$failures" = 0 ] || { echo "$failures check(s) failed"; exit 1; }
echo "all checks passed"
