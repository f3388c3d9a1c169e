#!/bin/sh
# Installation test of the Debian package (as root, on Debian 12):
#     sudo tests/package/install.sh target/debian/listcrypt_VERSION_ARCH.deb
# (scripts/package builds it and prints its path.)
#
# Installs the .deb with apt (dependencies from apt) and checks the binary,
# the man pages, the completions, the system user and group, the home
# /var/lib/listcrypt (listcrypt:listcrypt, mode 0700), the systemd units
# (systemd-analyze verify, timers enabled) and the command line of
# listcrypt-unlock@.service (run as systemd would, outside systemd: the
# passphrase from a root-only credential, the key usable after it exits);
# then removes the package (user, group and lists stay), installs it again
# (the list is still there), purges it while a gpg-agent of the list still
# runs (user and group go, the home with the list stays, with a message),
# and finally installs and purges once more with an empty home (it goes).
#
# Refuses to run when listcrypt is installed or its user or home exists, and
# leaves the machine as it found it, apart from the apt packages installed
# as dependencies. Exit 0 only when every check passes; one PASS/FAIL line
# per check. About 30 seconds.
set -eu

deb=${1:-}
if [ -z "$deb" ] || [ ! -f "$deb" ]; then
    echo "usage: $0 path/to/listcrypt_*.deb" >&2
    exit 2
fi
[ "$(id -u)" = 0 ] || { echo "$0 needs root (it installs and purges the package)" >&2; exit 2; }
case $deb in /*) ;; *) deb=$PWD/$deb ;; esac

home=/var/lib/listcrypt
list=crypto@lists.example.org
pass="correct horse battery staple"
passed=0

if dpkg-query -W -f='${Status}' listcrypt 2>/dev/null | grep -qv "not-installed"; then
    echo "listcrypt is installed (or not purged) on this machine; this test would purge it: refusing" >&2
    exit 2
fi
for what in "getent passwd listcrypt" "getent group listcrypt" "test -e $home"; do
    if $what >/dev/null 2>&1; then
        echo "'$what' succeeds: this machine has listcrypt's user, group or home; refusing to touch them" >&2
        exit 2
    fi
done

# systemd-analyze verify touches /run/systemd/systemd-units-load; without a
# running systemd nobody else would have made it.
marker=/run/systemd/systemd-units-load
had_marker=no
{ [ -e "$marker" ] || [ -d /run/systemd/system ]; } && had_marker=yes

tmp=$(mktemp -d)
chmod 0755 "$tmp"
cleanup() {
    set +e
    [ "$had_marker" = yes ] || rm -f "$marker"
    if getent passwd listcrypt >/dev/null 2>&1; then
        for g in "$home"/lists/*/gnupg; do
            [ -d "$g" ] && as_listcrypt gpgconf --homedir "$g" --kill gpg-agent >/dev/null 2>&1
        done
    fi
    if dpkg-query -W -f='${Status}' listcrypt 2>/dev/null | grep -qv "not-installed"; then
        DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq listcrypt >/dev/null 2>&1
    fi
    getent passwd listcrypt >/dev/null 2>&1 && deluser --system --quiet listcrypt
    getent group listcrypt >/dev/null 2>&1 && delgroup --system --quiet listcrypt
    rm -rf "$home"
    [ -d "$tmp/gnupg" ] && gpgconf --homedir "$tmp/gnupg" --kill all >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

pass() { passed=$((passed + 1)); echo "PASS  $*"; }
fail() { echo "FAIL  $*" >&2; exit 1; }
check() { # check DESCRIPTION COMMAND...
    what=$1
    shift
    if "$@" >"$tmp/out" 2>&1; then pass "$what"; else cat "$tmp/out" >&2; fail "$what"; fi
}
as_listcrypt() { setpriv --reuid=listcrypt --regid=listcrypt --init-groups -- "$@"; }
installed() { dpkg-query -W -f='${Status}' listcrypt 2>/dev/null | grep -q "install ok installed"; }

install_deb() {
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$deb" >"$tmp/apt" 2>&1; then
        # Stale package lists: refresh them once.
        apt-get update -qq >/dev/null 2>&1 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$deb" >"$tmp/apt" 2>&1 ||
            { cat "$tmp/apt" >&2; fail "apt-get install $deb"; }
    fi
    installed || fail "listcrypt is not installed after apt-get install"
}
purge() {
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq listcrypt >"$tmp/apt" 2>&1 ||
        { cat "$tmp/apt" >&2; fail "apt-get purge listcrypt"; }
}
home_is_private() {
    [ "$(stat -c '%U:%G %a' "$home")" = "listcrypt:listcrypt 700" ] ||
        { echo "$home is $(stat -c '%U:%G %a' "$home")"; return 1; }
}
no_unit_leftovers() {
    left=$(find /etc/systemd/system /var/lib/systemd/deb-systemd-helper-enabled \
        /var/lib/systemd/deb-systemd-helper-masked -name '*listcrypt*' 2>/dev/null)
    [ -z "$left" ] || { echo "left behind: $left"; return 1; }
}
no_process_of() {
    for proc in /proc/[0-9]*; do
        if [ "$(stat -c %u "$proc" 2>/dev/null)" = "$1" ]; then
            echo "still running as uid $1: $(tr '\0' ' ' <"$proc/cmdline" 2>/dev/null)"
            return 1
        fi
    done
}
wait_no_process_of() { # up to 5 s
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        no_process_of "$1" >/dev/null && return 0
        sleep 0.5
    done
    no_process_of "$1"
}
user_gone() { ! getent passwd listcrypt && ! getent group listcrypt; }
key_signs() { # the list key signs without asking for its passphrase
    as_listcrypt gpg --homedir "$home/lists/$list/gnupg" --batch --no-tty --pinentry-mode cancel \
        --local-user "$list" --output /dev/null --sign /dev/null
}

t0=$(date +%s)
version=$(dpkg-deb -f "$deb" Version)

# 1. Install.
install_deb
pass "apt-get install $deb"
check "listcrypt --version is ${version%-*}" sh -c "listcrypt --version | grep -qx 'listcrypt ${version%-*}'"
check "the binary is /usr/bin/listcrypt" test "$(command -v listcrypt)" = /usr/bin/listcrypt
check "man -w listcrypt" sh -c 'man -w listcrypt | grep -q "/usr/share/man/man1/listcrypt.1.gz"'
check "man -w listcrypt-list-unlock" man -w listcrypt-list-unlock
check "every man page of the package is gzipped" sh -c '! dpkg -L listcrypt | grep "^/usr/share/man/" | grep -q "\.1$"'
check "id listcrypt" id listcrypt
# shellcheck disable=SC2016 # expanded by the inner shell
check "listcrypt is a system user in group listcrypt, home $home, no login" sh -c '
    set -- $(getent passwd listcrypt | awk -F: "{print \$3, \$6, \$7}")
    [ "$1" -lt 1000 ] && [ "$2" = /var/lib/listcrypt ] && [ "$3" = /usr/sbin/nologin ] &&
    [ "$(id -gn listcrypt)" = listcrypt ]'
check "$home is listcrypt:listcrypt, mode 0700" home_is_private
check "bash completion" bash -c '. /usr/share/bash-completion/completions/listcrypt && complete -p listcrypt'
check "zsh completion" test -s /usr/share/zsh/vendor-completions/_listcrypt
check "fish completion" test -s /usr/share/fish/vendor_completions.d/listcrypt.fish
check "docs: README.md, SECURITY.md, copyright, changelog" sh -c 'cd /usr/share/doc/listcrypt &&
    test -s README.md && test -s SECURITY.md && grep -q "^License: GPL-3.0-or-later" copyright &&
    test -s changelog.Debian.gz'
units=""
for u in listcrypt-flush.service listcrypt-flush.timer listcrypt-keys-check.service \
    listcrypt-keys-check.timer listcrypt-unlock@.service; do
    path=$(dpkg -L listcrypt | grep "/systemd/system/$u\$" || true)
    [ -n "$path" ] || fail "unit $u is not in the package"
    units="$units $path"
done
pass "the package ships the five units"
check "timers enabled on installation" test -L /etc/systemd/system/timers.target.wants/listcrypt-flush.timer \
    -a -L /etc/systemd/system/timers.target.wants/listcrypt-keys-check.timer
unitdir=$(dirname "$path")
if command -v systemd-analyze >/dev/null 2>&1; then
    mkdir "$tmp/units"
    ln -s "$unitdir/listcrypt-unlock@.service" "$tmp/units/listcrypt-unlock@$list.service"
    ln -s "$unitdir/listcrypt-unlock@.service" "$tmp/units/listcrypt-unlock@my\\x2dlist\\x40example.org.service"
    # shellcheck disable=SC2086 # one argument per unit
    check "systemd-analyze verify (units, man pages, two instances of listcrypt-unlock@)" \
        systemd-analyze verify $units "$tmp/units/listcrypt-unlock@$list.service" \
        "$tmp/units/listcrypt-unlock@my\\x2dlist\\x40example.org.service"
else
    echo "SKIP  systemd-analyze verify: no systemd-analyze here"
fi

# A list with a passphrase-protected key, made as the list user.
export GNUPGHOME="$tmp/gnupg"
mkdir -m 0700 "$GNUPGHOME"
gpg --batch --quiet --pinentry-mode loopback --passphrase "$pass" \
    --quick-gen-key "Crypto list <$list>" ed25519 sign,cert 1y 2>/dev/null
fpr=$(gpg --batch --with-colons --list-keys "$list" 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}')
gpg --batch --quiet --pinentry-mode loopback --passphrase "$pass" --quick-add-key "$fpr" cv25519 encr 1y 2>/dev/null
gpg --batch --pinentry-mode loopback --passphrase "$pass" --armor --export-secret-keys "$fpr" >"$tmp/list-key.asc"
chmod 0644 "$tmp/list-key.asc"
gpgconf --kill all
unset GNUPGHOME
check "list create as listcrypt (protected key)" \
    as_listcrypt listcrypt --home "$home" -q list create "$list" --admin "alice@lists.example.org" --key-file "$tmp/list-key.asc"
if key_signs >/dev/null 2>&1; then fail "the list key signs before it was unlocked"; fi
pass "the list key is locked before the unlock"

# listcrypt-unlock@.service's ExecStart=, run as systemd runs it: as root,
# with the passphrase in a root-only credentials folder.
mkdir -m 0700 "$tmp/credentials"
printf '%s\n' "$pass" >"$tmp/credentials/passphrase"
chmod 0400 "$tmp/credentials/passphrase"
# ExecStartPre= first stops the agent the check above started.
unit_command() { # unit_command KEY: the command line, as the shell's words
    sed -n "s/^$1=-\{0,1\}//p" "$unitdir/listcrypt-unlock@.service" | sed -e 's/\$\$/$/g' -e "s/%I/$list/g"
}
exec_start_pre=$(unit_command ExecStartPre)
exec_start=$(unit_command ExecStart)
if [ -z "$exec_start_pre" ] || [ -z "$exec_start" ]; then
    fail "no ExecStartPre= or ExecStart= in listcrypt-unlock@.service"
fi
check "listcrypt-unlock@$list.service's ExecStartPre=" sh -c "$exec_start_pre"
check "it stopped the list's running gpg-agent" wait_no_process_of "$(id -u listcrypt)"
check "listcrypt-unlock@$list.service's ExecStart= (credential readable by root only)" \
    sh -c "export CREDENTIALS_DIRECTORY='$tmp/credentials' LISTCRYPT_HOME='$home'; $exec_start"
check "after it exited, gpg-agent keeps the passphrase: the list key signs" key_signs

# 2. Remove: user, group, home and the list stay.
DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq listcrypt >"$tmp/apt" 2>&1 ||
    { cat "$tmp/apt" >&2; fail "apt-get remove listcrypt"; }
pass "apt-get remove listcrypt"
check "the binary is gone" test ! -e /usr/bin/listcrypt
check "user and group listcrypt kept" sh -c 'getent passwd listcrypt && getent group listcrypt'
check "$home kept (listcrypt:listcrypt, 0700), with the list" sh -c \
    "[ \"\$(stat -c '%U:%G %a' $home)\" = 'listcrypt:listcrypt 700' ] && test -d '$home/lists/$list/gnupg'"

# 3. Install again: the list is still there.
install_deb
pass "apt-get install $deb (again)"
check "listcrypt list ls shows the list kept through the removal" \
    sh -c "setpriv --reuid=listcrypt --regid=listcrypt --init-groups -- listcrypt --home $home list ls | grep -q '$list'"
check "$home is still listcrypt:listcrypt, mode 0700" home_is_private

# 4. Purge with the list (and its gpg-agent, still running) in the home.
uid=$(id -u listcrypt)
purge
pass "apt-get purge listcrypt (the list's gpg-agent running)"
check "user and group listcrypt removed" user_gone
check "$home with the list left in place" test -d "$home/lists/$list/gnupg"
check "$home left to root (0700), not to a uid the next system user may get" sh -c \
    "[ \"\$(stat -c '%U:%G %a' $home)\" = 'root:root 700' ] && [ \"\$(find $home ! -user root | wc -l)\" = 0 ]"
check "the purge said why $home stays" grep -q "$home is not empty and was left in place" "$tmp/apt"
check "no unit links or deb-systemd-helper state left" no_unit_leftovers
check "no process left running as the removed user (uid $uid)" no_process_of "$uid"
rm -rf "$home"

# 5. Install and purge with an empty home: it goes too.
install_deb
pass "apt-get install $deb (third time)"
check "$home is listcrypt:listcrypt, mode 0700" home_is_private
purge
pass "apt-get purge listcrypt (empty home)"
check "user and group listcrypt removed" user_gone
check "empty $home removed" test ! -e "$home"
check "no unit links or deb-systemd-helper state left" no_unit_leftovers
check "dpkg knows nothing of listcrypt" sh -c '! dpkg-query -W listcrypt 2>/dev/null | grep -q .'

echo "package test: $passed checks passed in $(($(date +%s) - t0)) s"
