#!/bin/bash
# End-to-end test: listcrypt inside a real Postfix, on loopback only.
#
# Usage (as root, on Debian 12):
#     sudo tests/postfix/e2e.sh [path/to/listcrypt]
# The binary defaults to target/debug/listcrypt of this repository (built
# with `cargo build` when missing). Exit 0 only when every check passes; the
# last line is "N passed, M failed". A run takes about 20 seconds.
# E2E_KEEP=1 keeps the temporary folder (stopped Postfix, log, mailboxes,
# list home) for a look after the run.
#
# What it does:
# - installs Postfix from Debian if missing ("No configuration", so the
#   system's own instance stays unconfigured; if the install started it, it
#   is stopped again) and never touches /etc/postfix;
# - runs a PRIVATE Postfix instance in a temporary folder (/tmp/pf.XXXXXX:
#   config, queue, data directory, log, mailboxes): smtpd only on
#   127.0.0.1:PORT (a free port from 2525 up), nothing on port 25,
#   mydestination = lists.example.org (the lists' aliases, in an alias map
#   owned by a system user "lctest"), members.example.org delivered by
#   virtual(8) into Maildirs in the temp folder, every other destination
#   refused (default_transport = error, no relayhost): no mail leaves the
#   machine;
# - makes two lists (crypto@, other@lists.example.org) as the list user, wired
#   with recipe 1 of `listcrypt mta postfix`: the alias map listcrypt keeps in
#   its home (HOME/aliases: "inject && verify && distribute", "bounce" for
#   -bounces, "owner" for -owner; rebuilt with postalias by `list create`),
#   and a third list secure@relay.example.org wired with recipe 2: one pipe
#   transport for the whole domain running `listcrypt receive ${recipient}`,
#   with the recipient map listcrypt keeps (HOME/recipients). Members alice,
#   bob, carol@members.example.org have their own GnuPG homes; their
#   challenges travel through Postfix into their mailboxes and are answered
#   with `keys verify`.
#
# What it proves (one PASS/FAIL line each):
#   a. a signed+encrypted PGP/MIME post submitted with Postfix's sendmail is
#      delivered once to each other member, each copy opens only with its
#      member's key, holds the text, and carries the list's good signature
#      (the list's transport is sendmail:<wrapper around this instance's
#      /usr/sbin/sendmail>), and the copies enter Postfix through postdrop;
#   b. the same through SMTP, with the list's transport smtp://127.0.0.1:PORT;
#   c. a second list works independently (only its members get the post);
#   d. a busy store (the sled lock held from outside) makes `inject` exit 75:
#      Postfix defers (dsn=4.3.0), and after the lock is gone and the queue is
#      flushed the post arrives exactly once;
#   e. an alias for a list that does not exist bounces (exit 67, 5.1.1);
#   f. DSNs to crypto-bounces@ are delivered to `listcrypt bounce`: a forged
#      one to the plain address counts against nobody, one to the tagged
#      address bob's copies came from (recipient_delimiter +) counts against bob;
#   g. recipe 2: a post to secure@relay.example.org through SMTP reaches its
#      members through the `receive` transport; an unknown address of that
#      domain is refused at SMTP time (550, from the recipient map);
#   h. a stranger's clear mail to crypto-owner@ (alias) and secure-owner@
#      (transport) reaches alice, the admin, encrypted to her key and signed by
#      the list, never in clear;
#   i. `listcrypt doctor` passes on this installation, and fails, naming each
#      fault and its fix, once a list folder is opened up and a transport
#      points nowhere.
#
# Set-up facts this relies on (checked with Postfix 3.7 on Debian 12):
# - local(8) runs alias commands as the owner of the alias DATABASE file
#   (aliases.db; root-owned: default_privs=nobody), with that user's primary
#   group only and a minimal environment (PATH=/usr/bin:/bin,
#   HOME=/nonexistent): absolute paths and --home everywhere. postalias
#   drops to the owner of the source file, so a list-user-owned source needs
#   a directory that user can write (here $T/al).
# - A private instance's sendmail for a NON-root caller: `sendmail -C DIR`
#   is refused unless DIR is listed in alternate_config_directories of
#   /etc/postfix/main.cf (absent here, and we leave /etc/postfix alone);
#   MAIL_CONFIG=DIR is accepted by sendmail, and by the set-gid postdrop only
#   when the caller's real group is postdrop. Hence the wrapper sets
#   MAIL_CONFIG and the list user has postdrop as its primary group. None of
#   this applies to the system's default instance and plain sendmail.
# - LISTCRYPT_LOCK_TIMEOUT reaches alias commands through main.cf's
#   export_environment (name=value pairs are allowed there); the store lock
#   is sled 0.34's flock(LOCK_EX) on store/db, taken here from python3.
# - Nothing in this script needs ss/netstat/swaks: python3 (Debian's
#   /usr/bin/python3) submits over SMTP and reads /proc for listeners.
set -u

REPO=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${1:-$REPO/target/debug/listcrypt}
LCUSER=lctest
LDOM=lists.example.org
MDOM=members.example.org
ALICE=alice@$MDOM BOB=bob@$MDOM CAROL=carol@$MDOM
CRYPTO=crypto@$LDOM OTHER=other@$LDOM
TDOM=relay.example.org SECURE=secure@relay.example.org
PY=/usr/bin/python3; [ -x $PY ] || PY=python3
START=$(date +%s)

pass=0 fail=0
ok()   { pass=$((pass + 1)); echo "PASS $*"; }
bad()  { fail=$((fail + 1)); echo "FAIL $*"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
summary() { echo "$pass passed, $fail failed"; }
die() {
    bad "set-up: $*"
    [ -n "${T:-}" ] && [ -f "$T/maillog" ] && { echo "--- last lines of the Postfix log:"; tail -n 20 "$T/maillog"; }
    summary; exit 1
}
step() { echo "== $*"; }

[ "$(id -u)" = 0 ] || { echo "run as root: sudo $0 [path/to/listcrypt]" >&2; exit 2; }

# ---------------------------------------------------------------- binary
if [ ! -x "$BIN" ]; then
    [ $# -ge 1 ] && { echo "no executable $BIN" >&2; exit 2; }
    step "building listcrypt (cargo build)"
    CARGO=$(command -v cargo || echo "${HOME:-/root}/.cargo/bin/cargo")
    (cd "$REPO" && "$CARGO" build --quiet) || { echo "cargo build failed" >&2; exit 2; }
fi

# ---------------------------------------------------------------- Postfix package
if ! [ -x /usr/sbin/postfix ] || ! [ -x /usr/sbin/postconf ]; then
    step "installing Postfix (no configuration; the system instance stays stopped)"
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q --no-install-recommends postfix python3 >/tmp/e2e-postfix-install.log 2>&1; then
        apt-get update -q >>/tmp/e2e-postfix-install.log 2>&1
        apt-get install -y -q --no-install-recommends postfix python3 >>/tmp/e2e-postfix-install.log 2>&1 \
            || { cat /tmp/e2e-postfix-install.log; echo "cannot install postfix" >&2; exit 2; }
    fi
    rm -f /tmp/e2e-postfix-install.log
    # The package may have started the default instance: stop it.
    postfix stop >/dev/null 2>&1 || true
    service postfix stop >/dev/null 2>&1 || true
fi
command -v gpg >/dev/null && command -v gpgconf >/dev/null || { echo "gnupg is missing" >&2; exit 2; }
getent group postdrop >/dev/null || { echo "no postdrop group" >&2; exit 2; }

# ---------------------------------------------------------------- list user
CREATED_USER=
if ! id -u $LCUSER >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin -g postdrop $LCUSER \
        || { echo "cannot create user $LCUSER" >&2; exit 2; }
    CREATED_USER=1
elif [ "$(id -gn $LCUSER)" != postdrop ]; then
    usermod -g postdrop $LCUSER || { echo "cannot set $LCUSER's group" >&2; exit 2; }
fi
LCUID=$(id -u $LCUSER) LCGID=$(id -g $LCUSER)

# ---------------------------------------------------------------- temp folder and cleanup
T=$(mktemp -d /tmp/pf.XXXXXX) || exit 2
chmod 755 "$T"
PFC=$T/etc                  # config_directory
LC=$T/lc                    # listcrypt home
MB=$T/mail                  # virtual mailbox base
LOCKPID=
cleanup() {
    trap - EXIT INT TERM
    [ -n "$LOCKPID" ] && kill "$LOCKPID" 2>/dev/null
    if [ -f "$PFC/main.cf" ]; then
        postfix -c "$PFC" stop >/dev/null 2>&1
        for _ in $(seq 50); do
            pid=$(cat "$T/q/pid/master.pid" 2>/dev/null | tr -d ' ')
            [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        [ -n "${pid:-}" ] && kill -0 "$pid" 2>/dev/null && postfix -c "$PFC" abort >/dev/null 2>&1
    fi
    for h in "$LC"/lists/*/gnupg; do
        [ -d "$h" ] && runuser -u $LCUSER -- gpgconf --homedir "$h" --kill gpg-agent >/dev/null 2>&1
    done
    for h in "$T"/people/*; do
        [ -d "$h" ] && gpgconf --homedir "$h" --kill gpg-agent >/dev/null 2>&1
    done
    if [ -n "${E2E_KEEP:-}" ]; then
        echo "(E2E_KEEP: left $T in place)" >&2
    else
        rm -rf "$T"
        [ -n "$CREATED_USER" ] && userdel $LCUSER >/dev/null 2>&1
    fi
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$PFC" "$T/q" "$T/data" "$T/bin" "$T/people" "$T/work" "$T/run"
install -m 0755 "$BIN" "$T/bin/listcrypt" || die "cannot copy $BIN"
L=$T/bin/listcrypt
SENDMAIL=$T/bin/sendmail
# Postfix's sendmail for this instance, as listcrypt runs it (PATH -i -f SENDER -- RCPT...).
# Not "sendmail -C DIR": for a non-root caller, sendmail wants -C's directory
# listed in alternate_config_directories of /etc/postfix/main.cf (absent here).
# MAIL_CONFIG is honoured, and postdrop (set-gid postdrop) trusts it when the
# caller's real group is postdrop: the list user's primary group below.
printf '#!/bin/sh\nMAIL_CONFIG=%s\nexport MAIL_CONFIG\nexec /usr/sbin/sendmail "$@"\n' "$PFC" > "$SENDMAIL"
chmod 755 "$SENDMAIL"
mkdir -m 700 "$LC" "$MB"
mkdir -m 755 "$T/al"
chown $LCUSER: "$LC" "$MB" "$T/run" "$T/al"
chown postfix: "$T/data"

# ---------------------------------------------------------------- private Postfix instance
PORT=$($PY - <<'EOF'
import socket
for port in range(2525, 2625):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as Postfix does
    try:
        s.bind(("127.0.0.1", port)); print(port); break
    except OSError:
        pass
    finally:
        s.close()
EOF
)
[ -n "$PORT" ] || die "no free port"
step "a private Postfix in $T, smtpd on 127.0.0.1:$PORT"

# master.cf: every service unchrooted, smtpd on loopback:PORT only, no other inet service.
awk -v addr="127.0.0.1:$PORT" '
    /^[#[:space:]]/ || NF < 8 { print; next }
    $2 == "inet" && $1 == "smtp" { $1 = addr; $5 = "n"; print; next }
    $2 == "inet" { print "#" $0; next }
    { $5 = "n"; print }
' /etc/postfix/master.cf > "$PFC/master.cf"
grep -q '^postlog[[:space:]]' "$PFC/master.cf" \
    || echo 'postlog   unix-dgram n  -       n       -       1       postlogd' >> "$PFC/master.cf"

cat > "$PFC/main.cf" <<EOF
# private test instance of tests/postfix/e2e.sh
compatibility_level = 3.6
queue_directory = $T/q
data_directory = $T/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.$LDOM
mydomain = $LDOM
myorigin = $LDOM
mydestination = $LDOM
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost =
relay_domains =
default_transport = error:no outside mail in tests
# recipe 1 (listcrypt mta postfix): the alias map listcrypt keeps, beside our own
alias_maps = hash:$T/al/aliases, hash:$LC/aliases
alias_database = hash:$T/al/aliases
local_recipient_maps = \$alias_maps
# recipe 2: one transport for the lists domain $TDOM, its addresses from listcrypt's map
virtual_mailbox_domains = $MDOM, $TDOM
virtual_mailbox_maps = hash:$PFC/vmailbox, hash:$LC/recipients
transport_maps = inline:{ $TDOM=listcrypt: }
listcrypt_destination_recipient_limit = 1
virtual_mailbox_base = $MB
virtual_uid_maps = static:$LCUID
virtual_gid_maps = static:$LCGID
virtual_minimum_uid = 1
maillog_file = $T/maillog
maillog_file_prefixes = /var, /dev/stdout, /tmp
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 10s
export_environment = TZ MAIL_CONFIG LANG LISTCRYPT_LOCK_TIMEOUT=3
biff = no
append_dot_mydomain = no
smtputf8_enable = no
recipient_delimiter = +
smtpd_banner = \$myhostname ESMTP
EOF

lcmd() { echo "$L --home $LC $1 $2"; }
pipeline() { echo "\"|$(lcmd inject "$1") && $(lcmd verify "$1") && $(lcmd distribute "$1")\""; }
cat > "$T/al/aliases" <<EOF
postmaster: pm@$MDOM
root: pm@$MDOM
MAILER-DAEMON: pm@$MDOM
nosuch: $(pipeline nosuch@$LDOM)
nosuch-bounces: "|$(lcmd bounce nosuch@$LDOM)"
EOF
# recipe 2's pipe transport, as `listcrypt mta postfix` prints it. pipe(8)
# refuses to run as the postdrop group, our list user's primary group here (for
# the private instance's sendmail), so it runs with nogroup and that list
# sends through SMTP. A real list user's own group needs none of this.
printf 'listcrypt unix  -       n       n       -       -       pipe\n  flags=q user=%s:nogroup argv=%s --home %s receive -- ${recipient}\n' \
    $LCUSER "$L" "$LC" >> "$PFC/master.cf"
printf '%s %s/\n' $ALICE alice $BOB bob $CAROL carol pm@$MDOM pm > "$PFC/vmailbox"
postalias -c "$PFC" "$T/al/aliases" || die "postalias"
postmap -c "$PFC" "$PFC/vmailbox" || die "postmap"
# Alias commands run as the owner of the alias database.
chown $LCUSER: "$T/al/aliases" "$T/al/aliases.db"
# listcrypt's own maps exist before Postfix reads them (an admin runs `listcrypt
# mta maps` once); `list create` rewrites and recompiles them, as the list user.
runuser -u $LCUSER -- env -i PATH=/usr/bin:/bin HOME=/nonexistent MAIL_CONFIG="$PFC" "$L" --home "$LC" -q mta maps \
    || die "listcrypt mta maps"
[ -f "$LC/aliases.db" ] && [ -f "$LC/recipients.db" ] || die "listcrypt mta maps compiled no map"

postfix -c "$PFC" check >"$T/work/check.out" 2>&1 || { cat "$T/work/check.out"; die "postfix check"; }
postfix -c "$PFC" start >"$T/work/start.out" 2>&1 || { cat "$T/work/start.out"; die "postfix start"; }
for _ in $(seq 50); do
    $PY -c "import socket,sys; socket.create_connection(('127.0.0.1', $PORT), 1)" 2>/dev/null && break
    sleep 0.1
done

MASTER=$(tr -d ' ' < "$T/q/pid/master.pid" 2>/dev/null)
# TCP sockets our master listens on (from /proc: no ss/netstat needed)
listening=$($PY - "$MASTER" <<'EOF'
import os, sys
pid = sys.argv[1]
inodes = set()
for fd in os.listdir("/proc/%s/fd" % pid):
    try:
        link = os.readlink("/proc/%s/fd/%s" % (pid, fd))
    except OSError:
        continue
    if link.startswith("socket:["):
        inodes.add(link[8:-1])
found = set()
for table in ("/proc/net/tcp", "/proc/net/tcp6"):
    try:
        rows = open(table).read().splitlines()[1:]
    except OSError:
        continue
    for row in rows:
        f = row.split()
        if f[3] == "0A" and f[9] in inodes:          # LISTEN
            ip, port = f[1].split(":")
            addr = ".".join(str(int(ip[i:i + 2], 16)) for i in (6, 4, 2, 0)) if len(ip) == 8 else "[%s]" % ip
            found.add("%s:%d" % (addr, int(port, 16)))
print(" ".join(sorted(found)))
EOF
)
check "0. our Postfix (master $MASTER) listens on 127.0.0.1:$PORT only, nothing on port 25 [$listening]" \
    test "$listening" = "127.0.0.1:$PORT"

# ---------------------------------------------------------------- helpers
# listcrypt as the list user, with the environment local(8) gives alias commands
# (MAIL_CONFIG: this instance's config, for the postalias/postmap runs of `list create`)
lc() { (cd "$T" && runuser -u $LCUSER -- env -i PATH=/usr/bin:/bin HOME=/nonexistent LANG=C.UTF-8 MAIL_CONFIG="$PFC" "$L" --home "$LC" "$@"); }
person_gpg() { local p=$1; shift; gpg --homedir "$T/people/$p" --batch --no-tty --trust-model always "$@"; }
armored() { sed -n '/-----BEGIN PGP MESSAGE-----/,/-----END PGP MESSAGE-----/p' "$1" | tr -d '\r'; }
mails() { ls "$MB/$1/new/" 2>/dev/null | sed "s|^|$MB/$1/new/|"; }
count() { mails "$1" | grep -c . ; }
clear_mailboxes() { rm -f "$MB"/*/new/* "$MB"/*/cur/* 2>/dev/null; true; }
queue_empty() { [ -z "$(find "$T/q/maildrop" "$T/q/incoming" "$T/q/active" "$T/q/deferred" -type f 2>/dev/null)" ]; }
log_from() { tail -n +"$1" "$T/maillog" 2>/dev/null; }
log_lines() { wc -l < "$T/maillog" 2>/dev/null || echo 0; }

# wait_mail SECONDS PERSON...: until each has mail and the queue is empty
wait_mail() {
    local limit=$1 i p ready; shift
    for i in $(seq $((limit * 5))); do
        ready=1
        for p in "$@"; do [ "$(count $p)" -ge 1 ] || ready=; done
        [ -n "$ready" ] && queue_empty && { sleep 0.5; return 0; }
        sleep 0.2
    done
    return 1
}
wait_queue() { local i; for i in $(seq $(($1 * 5))); do queue_empty && return 0; sleep 0.2; done; return 1; }
# wait_log OFFSET SECONDS REGEX
wait_log() {
    local i; for i in $(seq $(($2 * 5))); do log_from "$1" | grep -Eq "$3" && return 0; sleep 0.2; done; return 1
}

# the list key's fingerprint, read once (the store may be held busy later)
list_fpr() {
    [ -s "$T/work/$1.fpr" ] || lc list show "$1" --json | sed -n 's/.*"fingerprint": "\([0-9A-F]*\)".*/\1/p' > "$T/work/$1.fpr"
    cat "$T/work/$1.fpr"
}

# verify_key LIST PERSON: the challenge came through Postfix; open it, enter the token
verify_key() {
    local list=$1 p=$2 f token i
    for i in $(seq 100); do
        f=$(grep -l "multipart/encrypted" $(mails $p) 2>/dev/null | head -n 1)
        [ -n "$f" ] && break
        sleep 0.2
    done
    [ -n "$f" ] || die "no challenge for $p@$MDOM from $list in the mailbox"
    token=$(armored "$f" | person_gpg $p --decrypt 2>/dev/null | tr -d '\r' | awk '/^Token:/ { print $2 }')
    [ -n "$token" ] || die "cannot read $p's challenge"
    lc keys verify $list $p@$MDOM "$token" >/dev/null || die "keys verify $list $p"
    CHALLENGES=$((CHALLENGES + 1))
    rm -f "$f"
}

# make_post FILE LIST SUBJECT TEXT: alice's signed and encrypted PGP/MIME post
make_post() {
    local out=$1 list=$2 subject=$3 text=$4 fpr
    fpr=$(list_fpr $list)
    printf 'Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n-- Alice\r\n' "$text" \
        | person_gpg alice --armor --sign --encrypt --recipient "$fpr" > "$out.asc" || die "gpg encrypt"
    {
        printf 'From: Alice <%s>\nTo: %s\nSubject: %s\nDate: %s\nMessage-ID: <%s.%s@%s>\n' \
            $ALICE $list "$subject" "$(date -R)" "$(date +%s%N)" $$ $MDOM
        printf 'MIME-Version: 1.0\nContent-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="b1"\n\n'
        printf -- '--b1\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n\n--b1\nContent-Type: application/octet-stream\n\n'
        cat "$out.asc"
        printf -- '\n--b1--\n'
    } > "$out"
}

# open_copy FILE PERSON: decrypt into $T/work/PERSON.plain; false if it does not open
open_copy() { armored "$1" | person_gpg $2 --decrypt > "$T/work/$2.plain" 2>/dev/null && [ -s "$T/work/$2.plain" ]; }
# others_cannot_open FILE PERSON: no other member's key opens the copy
others_cannot_open() {
    local f=$1 p=$2 q
    for q in alice bob carol; do
        [ $q = $p ] && continue
        armored "$f" | person_gpg $q --decrypt >/dev/null 2>&1 && return 1
    done
    return 0
}
# list_signed PERSON LIST: the decrypted copy is multipart/signed with a good signature by the list key
list_signed() {
    local p=$1 fpr
    fpr=$(list_fpr $2)
    D="$T/work" P=$p perl -0777 -e '
        local $/; my $m = <STDIN>;
        $m =~ /multipart\/signed/i or die "not multipart/signed\n";
        $m =~ /boundary="([^"]+)"/ or die "no boundary\n"; my $b = quotemeta $1;
        $m =~ /\r\n--$b\r\n(.*?)\r\n--$b\r\n(.*?)\r\n--$b--/s or die "no signed part\n";
        my ($signed, $part) = ($1, $2);
        $part =~ /(-----BEGIN PGP SIGNATURE-----.*-----END PGP SIGNATURE-----)/s or die "no signature\n";
        open my $f, ">", "$ENV{D}/$ENV{P}.signed" or die; binmode $f; print $f $signed; close $f;
        open my $g, ">", "$ENV{D}/$ENV{P}.sig" or die; print $g "$1\n"; close $g;' < "$T/work/$p.plain" || return 1
    person_gpg $p --status-fd 1 --verify "$T/work/$p.sig" "$T/work/$p.signed" 2>/dev/null > "$T/work/$p.status"
    grep -q '^\[GNUPG:\] GOODSIG' "$T/work/$p.status" && grep -q "^\[GNUPG:\] VALIDSIG .*$fpr" "$T/work/$p.status"
}
# one_good_copy PERSON LIST TEXT: exactly one mail, opens only for PERSON, holds TEXT, list-signed
copy_ok() {
    local p=$1 list=$2 text=$3 f
    [ "$(count $p)" = 1 ] || { echo "    $p has $(count $p) mails" ; return 1; }
    f=$(mails $p)
    open_copy "$f" $p || { echo "    $p cannot open the copy"; return 1; }
    others_cannot_open "$f" $p || { echo "    someone else can open $p's copy"; return 1; }
    tr -d '\r' < "$T/work/$p.plain" | grep -qF "$text" || { echo "    $p's copy lacks the text"; return 1; }
    list_signed $p $list || { echo "    $p's copy lacks the list's good signature"; return 1; }
    grep -qi "^List-Id:.*<${list%@*}\.$LDOM>" "$f" || grep -qi "^List-Id:.*${list%@*}" "$f" \
        || { echo "    $p's copy has no List-Id of $list"; return 1; }
}

# ---------------------------------------------------------------- lists and members
step "members' keys"
for p in alice bob carol; do
    mkdir -m 700 "$T/people/$p"
    person_gpg $p --passphrase '' --quick-gen-key "$p <$p@$MDOM>" ed25519 sign,cert never 2>/dev/null || die "gpg key $p"
    fpr=$(person_gpg $p --with-colons --list-keys | awk -F: '/^fpr/ { print $10; exit }')
    person_gpg $p --passphrase '' --quick-add-key "$fpr" cv25519 encr never 2>/dev/null || die "gpg subkey $p"
    person_gpg $p --armor --export > "$T/work/$p.asc"
done
chmod 644 "$T"/work/*.asc

# make_list LIST MEMBER...: alice is the admin; challenges go through Postfix
make_list() {
    local list=$1 p; shift
    step "list $list, members alice $*"
    lc list create $list --admin $ALICE --generate >/dev/null || die "list create $list"
    lc list set $list transport "sendmail:$SENDMAIL" >/dev/null || die "list set transport"
    lc list export-key $list > "$T/work/${list%@*}.key" || die "export-key"
    [ -n "$(list_fpr $list)" ] || die "no fingerprint for $list"
    for p in alice "$@"; do
        person_gpg $p --import "$T/work/${list%@*}.key" 2>/dev/null || die "import list key"
        if [ $p = alice ]; then
            lc keys add $list $ALICE --key-file "$T/work/alice.asc" >/dev/null || die "keys add alice"
        else
            lc members add $list $p@$MDOM --key-file "$T/work/$p.asc" >/dev/null || die "members add $p"
        fi
        verify_key $list $p
    done
}
CHALLENGES=0
make_list $CRYPTO bob carol
make_list $OTHER bob
make_list $SECURE bob
lc list set $SECURE transport "smtp://127.0.0.1:$PORT" >/dev/null || die "list set transport $SECURE"
wait_queue 20 || die "the queue does not drain"
ok "set-up: $CHALLENGES challenges travelled through Postfix into the members' Maildirs, were decrypted and verified"
lc members ls $CRYPTO | sed 's/^/    /'
clear_mailboxes

# ---------------------------------------------------------------- a. sendmail in, sendmail out
step "a. a post submitted with Postfix's sendmail; the list sends with Postfix's sendmail (wrapper)"
make_post "$T/work/a.eml" $CRYPTO "Meeting" "Post A: the meeting moves to Friday at 10."
/usr/sbin/sendmail -C "$PFC" -f $ALICE $CRYPTO < "$T/work/a.eml" || bad "a. sendmail refused the post"
wait_mail 30 bob carol
for p in bob carol; do
    check "a. $p got exactly one copy of the post, only $p's key opens it, it holds the text and the list's good signature" \
        copy_ok $p $CRYPTO "Post A: the meeting moves"
done
check "a. the author (receive_own_posts off) got no copy" test "$(count alice)" = 0
grep -q 'from userid' $(mails bob) && ok "a. the copy entered Postfix through sendmail (postdrop)" \
    || bad "a. the copy entered Postfix through sendmail (postdrop)"
# Each copy's envelope sender is its recipient's own bounce address (a tag only the list can make).
BOB_BOUNCES=$(sed -n 's/^Return-Path: <\(crypto-bounces+[a-z2-7]*@[^>]*\)>.*/\1/p' $(mails bob) | head -n 1)
CAROL_BOUNCES=$(sed -n 's/^Return-Path: <\(crypto-bounces+[a-z2-7]*@[^>]*\)>.*/\1/p' $(mails carol) | head -n 1)
check "a. bob's copy came from his own tagged bounce address ($BOB_BOUNCES), not carol's" \
    sh -c "[ -n '$BOB_BOUNCES' ] && [ -n '$CAROL_BOUNCES' ] && [ '$BOB_BOUNCES' != '$CAROL_BOUNCES' ]"

# ---------------------------------------------------------------- b. SMTP in, SMTP out
step "b. a post through SMTP to 127.0.0.1:$PORT; the list sends with smtp://127.0.0.1:$PORT"
clear_mailboxes
lc list set $CRYPTO transport "smtp://127.0.0.1:$PORT" >/dev/null || bad "b. list set transport smtp"
make_post "$T/work/b.eml" $CRYPTO "Agenda" "Post B: the agenda is attached to nothing."
$PY - "$PORT" "$T/work/b.eml" $ALICE $CRYPTO <<'EOF' || bad "b. SMTP submission"
import re, smtplib, sys
port, path, sender, rcpt = sys.argv[1:]
data = re.sub(rb"\r?\n", b"\r\n", open(path, "rb").read())
with smtplib.SMTP("127.0.0.1", int(port), timeout=30) as s:
    s.sendmail(sender, [rcpt], data)
EOF
wait_mail 30 bob carol
for p in bob carol; do
    check "b. $p got exactly one copy through SMTP, only $p's key opens it, it holds the text and the list's good signature" \
        copy_ok $p $CRYPTO "Post B: the agenda"
done
f=$(mails bob | head -n 1)
if [ -n "$f" ] && grep -q 'with ESMTP' "$f" && ! grep -q 'from userid' "$f"; then
    ok "b. the copies entered Postfix through smtpd (listcrypt's SMTP transport)"
else
    bad "b. the copies entered Postfix through smtpd (listcrypt's SMTP transport)"
fi
lc list set $CRYPTO transport "sendmail:$SENDMAIL" >/dev/null || die "list set transport back"

# ---------------------------------------------------------------- c. the second list
step "c. a post to $OTHER (members alice, bob)"
clear_mailboxes
make_post "$T/work/c.eml" $OTHER "Other" "Post C: only for the other list."
/usr/sbin/sendmail -C "$PFC" -f $ALICE $OTHER < "$T/work/c.eml" || bad "c. sendmail refused the post"
wait_mail 30 bob
check "c. bob got exactly one copy from $OTHER, signed by that list's key" copy_ok bob $OTHER "Post C: only for"
check "c. carol (not a member of $OTHER) got nothing" test "$(count carol)" = 0
grep -q "other@$LDOM" $(mails bob) && ! grep -qi "^List-Id:.*crypto" $(mails bob) \
    && ok "c. the copy is $OTHER's, not $CRYPTO's" || bad "c. the copy is $OTHER's, not $CRYPTO's"

# ---------------------------------------------------------------- d. a busy store defers
step "d. the store of $CRYPTO held busy: inject exits 75, Postfix defers, then delivers once"
clear_mailboxes
STORE_DB=$LC/lists/$CRYPTO/store/db
[ -f "$STORE_DB" ] || die "no sled db at $STORE_DB"
rm -f "$T/run/locked" "$T/run/release"
# sled 0.34 takes flock(LOCK_EX|LOCK_NB) on store/db (fs2::try_lock_exclusive): take the same lock.
runuser -u $LCUSER -- $PY - "$STORE_DB" "$T/run/locked" "$T/run/release" <<'EOF' &
import fcntl, os, sys, time
db, locked, release = sys.argv[1:]
f = open(db, "rb")
deadline = time.time() + 15
while True:
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        break
    except BlockingIOError:
        if time.time() > deadline:
            sys.exit(1)
        time.sleep(0.05)
open(locked, "w").close()
end = time.time() + 60
while time.time() < end and not os.path.exists(release):
    time.sleep(0.1)
EOF
LOCKPID=$!
for _ in $(seq 100); do [ -e "$T/run/locked" ] && break; sleep 0.1; done
[ -e "$T/run/locked" ] || die "cannot take the store's lock"
off=$(( $(log_lines) + 1 ))
make_post "$T/work/d.eml" $CRYPTO "Busy" "Post D: sent while the store was busy."
/usr/sbin/sendmail -C "$PFC" -f $ALICE $CRYPTO < "$T/work/d.eml" || bad "d. sendmail refused the post"
if wait_log $off 40 "to=<$CRYPTO>.*dsn=4\.3\.0, status=deferred"; then
    ok "d. Postfix deferred the post (dsn=4.3.0, status=deferred): $(log_from $off | grep -o "status=deferred.*" | head -n 1 | cut -c1-110)"
else
    bad "d. Postfix deferred the post (dsn=4.3.0, status=deferred)"
fi
check "d. the deferral is listcrypt's busy store, after LISTCRYPT_LOCK_TIMEOUT=3 from export_environment" \
    wait_log $off 1 "to=<$CRYPTO>.*status=deferred.*stayed busy for 3 s"
check "d. nothing was delivered while the store was busy" test "$(count bob)$(count carol)" = 00
touch "$T/run/release"; wait $LOCKPID; LOCKPID=
off2=$(( $(log_lines) + 1 ))
postqueue -c "$PFC" -f
wait_mail 40 bob carol
check "d. after the flush, the post went to the pipe (status=sent)" \
    wait_log $off2 5 "to=<$CRYPTO>.*status=sent \(delivered to command"
for p in bob carol; do
    check "d. $p got the deferred post exactly once, readable and list-signed" copy_ok $p $CRYPTO "Post D: sent while"
done

# ---------------------------------------------------------------- e. unknown list bounces
step "e. an alias for a list that does not exist"
clear_mailboxes
off=$(( $(log_lines) + 1 ))
make_post "$T/work/e.eml" $CRYPTO "Nobody" "Post E: to a list that does not exist."
sed -i "s/^To: .*/To: nosuch@$LDOM/" "$T/work/e.eml"
/usr/sbin/sendmail -C "$PFC" -f $ALICE nosuch@$LDOM < "$T/work/e.eml" || bad "e. sendmail refused the post"
if wait_log $off 30 "to=<nosuch@$LDOM>.*status=bounced"; then
    ok "e. Postfix bounced it: $(log_from $off | grep -o "to=<nosuch@$LDOM>.*status=bounced.*" | head -n 1 | sed 's/relay=local, delay=[^ ]* delays=[^ ]* //' | cut -c1-120)"
else
    bad "e. Postfix bounced it (status=bounced)"
fi
check "e. the bounce has dsn=5.1.1 (listcrypt exit 67)" wait_log $off 5 "to=<nosuch@$LDOM>.*dsn=5\.1\.1, status=bounced"
wait_mail 20 alice
check "e. alice (the envelope sender) got the non-delivery report" \
    grep -qi 'Undelivered Mail Returned to Sender' $(mails alice) /dev/null

# ---------------------------------------------------------------- f. -bounces
step "f. DSNs to crypto-bounces@: a forged one to the plain address, a real one to bob's tag"
dsn() {
cat <<EOF
From: MAILER-DAEMON@mx.$MDOM (Mail Delivery System)
To: $1
Subject: Undelivered Mail Returned to Sender
Date: $(date -R)
Message-ID: <dsn.$(date +%s%N)@mx.$MDOM>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="dsn1"

--dsn1
Content-Type: text/plain

Your message could not be delivered to bob.

--dsn1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.$MDOM
Arrival-Date: $(date -R)

Final-Recipient: rfc822; $BOB
Original-Recipient: rfc822;$BOB
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <$BOB>: Recipient address rejected

--dsn1
Content-Type: text/rfc822-headers

From: crypto@$LDOM
To: $BOB
Subject: ...

--dsn1--
EOF
}
off=$(( $(log_lines) + 1 ))
dsn crypto-bounces@$LDOM | /usr/sbin/sendmail -C "$PFC" -f '<>' crypto-bounces@$LDOM || bad "f. sendmail refused the forged DSN"
if wait_log $off 30 "to=<crypto-bounces@$LDOM>.*status=sent \(delivered to command"; then
    ok "f. the forged DSN was delivered to listcrypt bounce"
else
    bad "f. the forged DSN was delivered to listcrypt bounce"
fi
check "f. the forged DSN counted against nobody (list log)" grep -q "naming $BOB without its bounce tag was ignored" "$LC/lists/$CRYPTO/log"
off=$(( $(log_lines) + 1 ))
dsn "$BOB_BOUNCES" | /usr/sbin/sendmail -C "$PFC" -f '<>' "$BOB_BOUNCES" || bad "f. sendmail refused the DSN"
if wait_log $off 30 "to=<$(printf %s "$BOB_BOUNCES" | sed 's/[+.]/\\&/g')>.*status=sent \(delivered to command"; then
    ok "f. the DSN to bob's tag was delivered to listcrypt bounce (status=sent, delivered to command)"
else
    bad "f. the DSN to bob's tag was delivered to listcrypt bounce (status=sent, delivered to command)"
fi
check "f. listcrypt counted the bounce against bob (list log)" grep -q "bounce counted for $BOB" "$LC/lists/$CRYPTO/log"

# ---------------------------------------------------------------- g. recipe 2: one transport for a lists domain
step "g. recipe 2: a post to $SECURE through SMTP, delivered by the receive transport"
clear_mailboxes
smtp_send() {  # smtp_send FILE SENDER RCPT: on refusal prints the server's answer to RCPT TO
    $PY - "$PORT" "$@" <<'EOF'
import re, smtplib, sys
port, path, sender, rcpt = sys.argv[1:]
data = re.sub(rb"\r?\n", b"\r\n", open(path, "rb").read())
try:
    with smtplib.SMTP("127.0.0.1", int(port), timeout=30) as s:
        s.sendmail(sender, [rcpt], data)
except smtplib.SMTPRecipientsRefused as e:
    code, text = e.recipients[rcpt]
    print(code, text.decode())
    sys.exit(1)
EOF
}
off=$(( $(log_lines) + 1 ))
make_post "$T/work/g.eml" $SECURE "Relay" "Post G: through the lists domain transport."
smtp_send "$T/work/g.eml" $ALICE $SECURE >/dev/null || bad "g. SMTP refused the post"
wait_mail 30 bob
check "g. bob got exactly one copy from $SECURE, readable and list-signed" copy_ok bob $SECURE "Post G: through the lists"
check "g. Postfix handed it to the listcrypt transport (relay=listcrypt, status=sent)" \
    wait_log $off 5 "to=<$SECURE>, relay=listcrypt.*status=sent"
make_post "$T/work/g2.eml" $SECURE "Nobody" "Post G2: to nobody."
answer=$(smtp_send "$T/work/g2.eml" $ALICE nosuch@$TDOM)
check "g. an unknown address of $TDOM is refused at SMTP time [$answer]" sh -c "echo '$answer' | grep -q '^550 .*nosuch@$TDOM'"

# ---------------------------------------------------------------- h. -owner
step "h. a stranger's clear mail to the owners, by alias and by transport"
for owner in crypto-owner@$LDOM secure-owner@$TDOM; do
    clear_mailboxes
    marker="OWNER-MAIL-$(date +%s%N)"
    printf 'From: Stranger <stranger@%s>\nTo: %s\nSubject: Hello\nMessage-ID: <%s@%s>\n\n%s: may I join?\n' \
        $MDOM $owner $marker $MDOM $marker > "$T/work/h.eml"
    smtp_send "$T/work/h.eml" stranger@$MDOM $owner >/dev/null || bad "h. SMTP refused mail to $owner"
    wait_mail 30 alice
    f=$(mails alice | head -n 1)
    check "h. $owner: alice (admin) got one mail, with no cleartext of it" \
        sh -c "[ '$(count alice)' = 1 ] && ! grep -q '$marker' '$f'"
    armored "$f" | person_gpg alice --status-fd 3 --decrypt 3>"$T/work/h.status" 2>/dev/null > "$T/work/h.plain"
    fpr=$(list_fpr ${owner%-owner@*}@${owner#*@})
    check "h. $owner: alice decrypts it, the message is inside, signed by the list key" \
        sh -c "grep -q '$marker: may I join' '$T/work/h.plain' && grep -q 'VALIDSIG .*$fpr' '$T/work/h.status'"
done

# ---------------------------------------------------------------- i. doctor
step "i. listcrypt doctor on this installation, healthy and then broken"
lc flush >/dev/null 2>&1
lc doctor > "$T/work/doctor.out" 2>&1; rc=$?
sed 's/^/    /' "$T/work/doctor.out"
check "i. doctor passes: both recipes wired, keys unlocked, transports answer, a flush ran (exit $rc)" test $rc = 0
chmod 750 "$LC/lists/$OTHER"
lc list set $SECURE transport "smtp://127.0.0.1:9" >/dev/null
lc doctor > "$T/work/doctor-broken.out" 2>&1; rc=$?
sed 's/^/    /' "$T/work/doctor-broken.out"
check "i. doctor fails on a broken one (exit $rc) and names both faults with their fix" sh -c \
    "[ $rc = 1 ] && grep -q '^FAIL  list folder \[$OTHER\]' '$T/work/doctor-broken.out' && grep -q '^FAIL  transport \[$SECURE\]' '$T/work/doctor-broken.out' && [ \$(grep -c '^      fix:' '$T/work/doctor-broken.out') -ge 2 ]"
chmod 700 "$LC/lists/$OTHER"
lc list set $SECURE transport "smtp://127.0.0.1:$PORT" >/dev/null

# ---------------------------------------------------------------- end
wait_queue 10
check "nothing left in the Postfix queue" queue_empty
check "no 'fatal' or 'panic' in the Postfix log" sh -c "! grep -E 'fatal:|panic:' '$T/maillog'"
echo "($(( $(date +%s) - START )) s)"
if [ $fail -gt 0 ]; then
    echo "--- last lines of the Postfix log:"; tail -n 30 "$T/maillog"
    summary; exit 1
fi
summary
exit 0
