#!/bin/bash
# Build a REAL Schleuder 4.0.3 list (Debian 12 package) in a throwaway
# configuration, for import tests.
#
# Usage (as root):   tests/schleuder/make-list.sh OUTDIR
# OUTDIR must not exist or be empty. Everything Schleuder writes lives under
# it (config, SQLite DB, lists dir, logs, API TLS cert); /etc/schleuder and
# /var/lib/schleuder are never written by this script (the Debian package
# creates them itself when it is installed). Ends with no daemon or
# gpg-agent of ours running. Prints, and writes to OUTDIR/fixture.env, the
# paths and fingerprints a test needs. See NOTES.md beside this file.
#
# SCHLEUDER_FIXTURE_PORT=N forces the API port (default: first free port
# from 14443 up on 127.0.0.1).
set -eu
umask 077

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "$0: must run as root (apt-get, CI)" >&2; exit 2; }
START=$(date +%s.%N)

LIST=secret@lists.example.org
ADMIN=admin@example.org
PEOPLE="admin alice bob carol"

OUT=$1
if [ -e "$OUT" ] && [ -n "$(ls -A "$OUT" 2>/dev/null)" ]; then
    # A used OUTDIR would make `schleuder install` migrate instead of
    # initialise, and gpg would find old keys: refuse rather than guess.
    echo "$0: $OUT exists and is not empty; give a fresh directory" >&2
    exit 2
fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd -P)
LOG=$OUT/make-list.log
: >"$LOG"

say() { printf '%s\n' "$*"; }
die() { say "$0: $*" >&2; [ -s "$LOG" ] && { say "--- last lines of $LOG:" >&2; tail -n 30 "$LOG" >&2; }; exit 1; }

# ---------------------------------------------------------------- packages
# Only what is missing, so a machine that already has an MTA (for instance
# the Postfix used by tests/postfix/e2e.sh) keeps it untouched.
need=
command -v schleuder >/dev/null 2>&1 && command -v schleuder-api-daemon >/dev/null 2>&1 || need="$need schleuder"
command -v schleuder-cli >/dev/null 2>&1 || need="$need schleuder-cli"
command -v curl    >/dev/null 2>&1 || need="$need curl"
command -v sqlite3 >/dev/null 2>&1 || need="$need sqlite3"
command -v gpg     >/dev/null 2>&1 || need="$need gpg"
command -v gpg-agent >/dev/null 2>&1 || need="$need gpg-agent"
command -v gpgconf >/dev/null 2>&1 || need="$need gpgconf"
INSTALLED_SCHLEUDER='' INSTALLED_POSTFIX=''
is_installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]; }
stop_service() { # stop a system service our install may have started
    if [ -d /run/systemd/system ]; then
        systemctl disable --now "$1" >>"$LOG" 2>&1 || true
    else
        invoke-rc.d "$1" stop >>"$LOG" 2>&1 || true
    fi
}
if [ -n "$need" ]; then
    export DEBIAN_FRONTEND=noninteractive
    case " $need " in *" schleuder "*) INSTALLED_SCHLEUDER=1 ;; esac
    # schleuder Depends on "default-mta | postfix | mail-transport-agent";
    # without any MTA apt would pick exim4, which starts on port 25. Postfix
    # with "No configuration" stays stopped instead.
    # cron comes in as a dependency too; only stop it if it is new.
    HAD_CRON=; is_installed cron && HAD_CRON=1
    if [ -n "$INSTALLED_SCHLEUDER" ] && [ ! -e /usr/sbin/sendmail ]; then
        echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
        need="$need postfix"
        INSTALLED_POSTFIX=1
    fi
    say "installing:$need (log: $LOG)"
    # shellcheck disable=SC2086
    if ! apt-get install -y -q --no-install-recommends $need >>"$LOG" 2>&1; then
        apt-get update -q >>"$LOG" 2>&1 || true
        # shellcheck disable=SC2086
        apt-get install -y -q --no-install-recommends $need >>"$LOG" 2>&1 || die "apt-get install failed"
    fi
    # The package's own API daemon (port 4443, user schleuder) may have been
    # started by postinst: it is not ours to keep running.
    [ -n "$INSTALLED_SCHLEUDER" ] && stop_service schleuder-api-daemon
    [ -z "$HAD_CRON" ] && is_installed cron && stop_service cron
    if [ -n "$INSTALLED_POSTFIX" ]; then
        postfix stop >>"$LOG" 2>&1 || true
        stop_service postfix
    fi
fi
SV=$(dpkg-query -W -f='${Version}' schleuder 2>/dev/null || true)
case $SV in 4.0.3*) ;; *) say "warning: schleuder package version is '$SV', this script was written for 4.0.3" >&2 ;; esac
[ -d /etc/schleuder ] || die "/etc/schleuder missing: schleuder's Rakefile only loads Schleuder when it exists"

# ---------------------------------------------------------------- short base path
# gpg-agent's socket lives in each GnuPG home (no /run/user for root) and
# sun_path allows 107 bytes: the list home is BASE/lists/lists.example.org/secret
# (+30) plus "/S.gpg-agent.browser" (+20). Above 56 bytes use a short
# symlink to OUTDIR and write every path through it.
BASE=$OUT LINK=
if [ ${#OUT} -gt 56 ]; then
    LINK=$(mktemp -u /tmp/slf.XXXXXX)
    ln -s "$OUT" "$LINK"
    BASE=$LINK
fi

CONF=$BASE/schleuder.yml
DEFAULTS=$BASE/list-defaults.yml
DB=$BASE/db.sqlite
LISTS=$BASE/lists
LISTHOME=$LISTS/lists.example.org/secret
CLICONF=$BASE/schleuder-cli.yml
mkdir -p "$BASE/people" "$BASE/home" "$BASE/filters" "$BASE/keyword_handlers"

# ---------------------------------------------------------------- cleanup
DAEMON_PID=
cleanup() {
    rc=$?
    if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
        kill "$DAEMON_PID" 2>/dev/null || true
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$DAEMON_PID" 2>/dev/null || true
        wait "$DAEMON_PID" 2>/dev/null || true
    fi
    # Agents outlive us otherwise (one per GnuPG home, incl. the list's).
    for h in "$LISTHOME" "$BASE"/people/*; do
        if [ -d "$h" ]; then gpgconf --homedir "$h" --kill all >/dev/null 2>&1 || true; fi
    done
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- free loopback port
port_in_use() {
    hex=$(printf '%04X' "$1")
    # State 0A = LISTEN; column 2 is local addr:port in hex.
    awk -v p=":$hex" 'NR>1 && $4=="0A" && substr($2, length($2)-4)==p {f=1} END {exit !f}' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
PORT=${SCHLEUDER_FIXTURE_PORT:-}
if [ -z "$PORT" ]; then
    PORT=14443
    while port_in_use $PORT; do PORT=$((PORT + 1)); done
fi

# ---------------------------------------------------------------- config
APIKEY=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
cat >"$CONF" <<EOF
# Throwaway Schleuder config written by tests/schleuder/make-list.sh
lists_dir: $LISTS
listlogs_dir: $LISTS
keyword_handlers_dir: $BASE/keyword_handlers
filters_dir: $BASE/filters
log_level: warn
keyserver:
superadmin: root@localhost
smtp_settings:
  # Nothing listens here: no mail can leave (none is sent while building).
  address: 127.0.0.1
  port: 9
database:
  production:
    adapter: 'sqlite3'
    database: $DB
    timeout: 5000
api:
  host: 127.0.0.1
  port: $PORT
  tls_cert_file: $BASE/api-cert.pem
  tls_key_file: $BASE/api-key.pem
  valid_api_keys:
    - $APIKEY
EOF
# Package defaults verbatim, so "changed from default" means from Debian's.
cp /etc/schleuder/list-defaults.yml "$DEFAULTS" || die "no /etc/schleuder/list-defaults.yml to copy"

export SCHLEUDER_CONFIG=$CONF SCHLEUDER_LIST_DEFAULTS=$DEFAULTS SCHLEUDER_ENV=production
# A writable HOME/cwd: nothing of ours should land in /root.
export HOME=$BASE/home
cd "$BASE"

say "schleuder install"
schleuder install >>"$LOG" 2>&1 || die "schleuder install failed"
[ -s "$DB" ] || die "no database at $DB"

# ---------------------------------------------------------------- people
for p in $PEOPLE; do
    h=$BASE/people/$p
    mkdir -m 700 "$h"
    uid="$(printf '%s' "$p" | sed 's/^./\U&/') <$p@example.org>"
    gpg --homedir "$h" --batch --pinentry-mode loopback --passphrase '' \
        --quick-gen-key "$uid" ed25519 sign never >>"$LOG" 2>&1 || die "gpg key for $p"
    fpr=$(gpg --homedir "$h" --with-colons --list-secret-keys 2>>"$LOG" | awk -F: '$1=="fpr"{print $10; exit}')
    gpg --homedir "$h" --batch --pinentry-mode loopback --passphrase '' \
        --quick-add-key "$fpr" cv25519 encr never >>"$LOG" 2>&1 || die "gpg subkey for $p"
    gpg --homedir "$h" --armor --export "$fpr" >"$h/public.asc" 2>>"$LOG"
    eval "FPR_$p=$fpr"
done

# ---------------------------------------------------------------- API daemon
say "starting schleuder-api-daemon on 127.0.0.1:$PORT"
schleuder-api-daemon >"$BASE/api-daemon.log" 2>&1 &
DAEMON_PID=$!

# Pin the daemon's own key: the self-signed cert has no CN/SAN, so plain
# CA verification cannot work, and -k alone would trust anything on the port.
PIN=$(ruby -ropenssl -e 'c = OpenSSL::X509::Certificate.new(File.read(ARGV[0])); print [OpenSSL::Digest::SHA256.digest(c.public_key.public_to_der)].pack("m0")' "$BASE/api-cert.pem") \
    || die "cannot read $BASE/api-cert.pem"
api() { # METHOD PATH [JSON-BODY-FILE]
    if [ $# -ge 3 ]; then
        curl -sS -k --pinnedpubkey "sha256//$PIN" -u "schleuder:$APIKEY" -X "$1" \
            -H 'Content-Type: application/json' --data-binary "@$3" \
            -o "$BASE/api.out" -w '%{http_code}' "https://127.0.0.1:$PORT$2"
    else
        curl -sS -k --pinnedpubkey "sha256//$PIN" -u "schleuder:$APIKEY" -X "$1" \
            -o "$BASE/api.out" -w '%{http_code}' "https://127.0.0.1:$PORT$2"
    fi
}
expect() { # CODE-GLOB WHAT HTTP-CODE
    # shellcheck disable=SC2254  # $1 is a glob on purpose
    case $3 in $1) ;; *) say "HTTP $3 for $2: $(cat "$BASE/api.out" 2>/dev/null)" >>"$LOG"; die "$2 failed (HTTP $3)";; esac
}
ready=
for _ in $(seq 1 150); do
    kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$BASE/api-daemon.log" >>"$LOG"; die "schleuder-api-daemon exited (port $PORT taken?)"; }
    code=$(api GET /status.json 2>/dev/null) || code=000
    [ "$code" = 200 ] && { ready=1; break; }
    sleep 0.2
done
[ -n "$ready" ] || die "schleuder-api-daemon not answering on $PORT"

# JSON string from a file (armored keys have newlines).
json_str() { ruby -rjson -e 'print JSON.generate(File.read(ARGV[0]))' "$1"; }

# ---------------------------------------------------------------- list + admin
say "creating $LIST (RSA-4096 list key, takes a few seconds)"
printf '{"email":"%s","adminaddress":"%s","adminkey":%s}' \
    "$LIST" "$ADMIN" "$(json_str "$BASE/people/admin/public.asc")" >"$BASE/req.json"
expect '200' "POST /lists.json" "$(api POST /lists.json "$BASE/req.json")"

# ---------------------------------------------------------------- subscriptions
sub() { # NAME ADMIN DELIVERY
    printf '{"list_id":"%s","email":"%s@example.org","key_material":%s,"admin":%s,"delivery_enabled":%s}' \
        "$LIST" "$1" "$(json_str "$BASE/people/$1/public.asc")" "$2" "$3" >"$BASE/req.json"
    expect '20[01]' "subscribe $1" "$(api POST /subscriptions.json "$BASE/req.json")"
}
sub alice false true
sub bob   false false
sub carol false true

# ---------------------------------------------------------------- settings
# Each differs from list-defaults.yml; keep NOTES.md in step.
cat >"$BASE/req.json" <<'EOF'
{"receive_encrypted_only": true,
 "receive_signed_only": true,
 "receive_authenticated_only": true,
 "max_message_size_kb": 2048,
 "subject_prefix": "[secret]",
 "subject_prefix_in": "[unsigned]",
 "subject_prefix_out": "[resent]",
 "deliver_selfsent": false,
 "keep_msgid": false,
 "keywords_admin_notify": ["add-key", "subscribe", "unsubscribe"],
 "internal_footer": "-- secret list footer",
 "language": "de"}
EOF
cp "$BASE/req.json" "$BASE/settings-changed.json"
expect '204' "PATCH list settings" "$(api PATCH "/lists/$LIST.json" "$BASE/req.json")"
rm -f "$BASE/req.json" "$BASE/api.out"

# A second client, the packaged one: proves the config a human would use.
cat >"$CLICONF" <<EOF
host: 127.0.0.1
port: $PORT
api_key: $APIKEY
tls_fingerprint: $(schleuder cert fingerprint 2>>"$LOG" | awk '{print $NF}')
EOF
SCHLEUDER_CLI_CONFIG=$CLICONF schleuder-cli subscriptions list "$LIST" >"$BASE/subscriptions.txt" 2>>"$LOG" \
    || die "schleuder-cli subscriptions list failed"

# ---------------------------------------------------------------- stop daemon, check DB
kill "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null || true; DAEMON_PID=

q() { sqlite3 -batch -noheader "$DB" "$1"; }
LISTFPR=$(q "select fingerprint from lists where email='$LIST';")
[ -n "$LISTFPR" ] || die "list not in $DB"
n=$(q "select count(*) from subscriptions s join lists l on l.id=s.list_id where l.email='$LIST';")
[ "$n" = 4 ] || die "expected 4 subscriptions, found $n"
# Each subscription must carry the fingerprint gpg made, with the right flags.
for p in $PEOPLE; do
    eval "want=\$FPR_$p"
    case $p in admin) wa=1 wd=1 ;; bob) wa=0 wd=0 ;; *) wa=0 wd=1 ;; esac
    got=$(q "select fingerprint||'|'||admin||'|'||delivery_enabled from subscriptions where email='$p@example.org';")
    [ "$got" = "$want|$wa|$wd" ] || die "subscription $p is '$got', expected '$want|$wa|$wd'"
done
got=$(q "select receive_encrypted_only||receive_signed_only||receive_authenticated_only||deliver_selfsent||keep_msgid||'|'||max_message_size_kb||'|'||subject_prefix from lists where email='$LIST';")
[ "$got" = "11100|2048|[secret]" ] || die "settings not stored: $got"
# What an importer relies on (NOTES.md): every member key is in the list's
# keyring, and the list's secret key is stored without a passphrase.
# --list-keys needs no agent, so none is left behind.
for p in $PEOPLE; do
    eval "want=\$FPR_$p"
    gpg --homedir "$LISTHOME" --batch --no-permission-warning --list-keys "$want" >/dev/null 2>&1 \
        || die "key of $p not in the list keyring"
done
ls "$LISTHOME"/private-keys-v1.d/*.key >/dev/null 2>&1 || die "no secret key files in $LISTHOME"
! grep -l 'protected-private-key' "$LISTHOME"/private-keys-v1.d/*.key >/dev/null 2>&1 \
    || die "list secret key is passphrase-protected"

# ---------------------------------------------------------------- fixture.env
{
    say "# Written by tests/schleuder/make-list.sh; shell assignments."
    say "SCHLEUDER_VERSION='$SV'"
    say "FIXTURE_DIR='$OUT'"
    say "FIXTURE_BASE='$BASE'"
    say "FIXTURE_LINK='$LINK'"
    say "SCHLEUDER_CONFIG='$CONF'"
    say "SCHLEUDER_LIST_DEFAULTS='$DEFAULTS'"
    say "SCHLEUDER_DB='$DB'"
    say "SCHLEUDER_LISTS_DIR='$LISTS'"
    say "SCHLEUDER_LIST='$LIST'"
    say "SCHLEUDER_LIST_HOME='$LISTHOME'"
    say "SCHLEUDER_LIST_FPR='$LISTFPR'"
    say "SCHLEUDER_SETTINGS_CHANGED='$BASE/settings-changed.json'"
    for p in $PEOPLE; do
        P=$(printf '%s' "$p" | tr '[:lower:]' '[:upper:]')
        eval "f=\$FPR_$p"
        say "${P}_EMAIL='$p@example.org'"
        say "${P}_GNUPGHOME='$BASE/people/$p'"
        say "${P}_FPR='$f'"
    done
} >"$OUT/fixture.env"
chmod 644 "$OUT/fixture.env"

END=$(date +%s.%N)
cat "$OUT/fixture.env"
say "# subscriptions (schleuder-cli):"
sed 's/^/#   /' "$BASE/subscriptions.txt"
say "# done in $(awk -v a="$START" -v b="$END" 'BEGIN{printf "%.1f", b-a}') s"
