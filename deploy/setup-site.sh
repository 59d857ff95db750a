#!/bin/sh
# Set up (or check again) a gateway SFTP site on Debian. Run as root; every step is idempotent.
#
#   deploy/setup-site.sh site                    the group, the service account, the folders,
#                                                the config, the ledger and the sshd fragment
#   deploy/setup-site.sh submitter ID KEY.pub [OPTIONS]
#                                                an SFTP account ID (= the submitter id) that
#                                                logs in with KEY.pub only, and its folders;
#                                                OPTIONS (--name, --kind, ...) go to `gateway
#                                                submitter add` to write its registry entry
#   deploy/setup-site.sh remove-submitter ID     the account and its key (its folders, receipts
#                                                and filed originals stay)
#
# Settings, from the environment (defaults shown):
#   SITE=/srv/gateway                   config, inbox/ (root's) and var/ (the service account's)
#   SERVICE_USER=gateway                the account `gateway serve` runs as
#   SUBMITTERS_GROUP=sqrms-submitters   sshd's Match Group
#   KEYS_DIR=/etc/ssh/sqrms-keys        one authorized_keys file per submitter, root's
#   SSHD_CONFIG_DIR=/etc/ssh/sshd_config.d
#   GATEWAY=gateway                     the gateway command (e.g. /opt/gateway/venv/bin/gateway)
#   SSHD_MAIN_CONFIG=                   sshd's main configuration for the doctor's `sshd -t`
#                                       (default: the system's)
# Each command ends with `gateway doctor`: the site as the service account will meet it.
# docs/operations.md walks through it.
set -eu

SITE=${SITE:-/srv/gateway}
SERVICE_USER=${SERVICE_USER:-gateway}
SUBMITTERS_GROUP=${SUBMITTERS_GROUP:-sqrms-submitters}
KEYS_DIR=${KEYS_DIR:-/etc/ssh/sqrms-keys}
SSHD_CONFIG_DIR=${SSHD_CONFIG_DIR:-/etc/ssh/sshd_config.d}
GATEWAY=${GATEWAY:-gateway}
HERE=$(cd "$(dirname "$0")" && pwd)

fail() { echo "setup-site: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || fail "run as root"

site() {
    groupadd --force --system "$SUBMITTERS_GROUP"
    if ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
        useradd --system --user-group --home-dir "$SITE/var" --no-create-home \
            --shell /usr/sbin/nologin "$SERVICE_USER"
    fi
    # sshd chroots each submitter into $SITE/inbox/<id>: root must own every folder on the way.
    install -d -o root -g root -m 0755 "$SITE"
    "$GATEWAY" init "$SITE" --service-user "$SERVICE_USER"
    install -d -o root -g root -m 0755 "$KEYS_DIR" "$SSHD_CONFIG_DIR"
    sed -e "s|/srv/gateway/inbox|$SITE/inbox|" -e "s|sqrms-submitters|$SUBMITTERS_GROUP|" \
        -e "s|/etc/ssh/sqrms-keys|$KEYS_DIR|" "$HERE/sshd_config.d/sqrms-gateway.conf" \
        > "$SSHD_CONFIG_DIR/.sqrms-gateway.conf.new"
    chmod 0644 "$SSHD_CONFIG_DIR/.sqrms-gateway.conf.new"
    mv "$SSHD_CONFIG_DIR/.sqrms-gateway.conf.new" "$SSHD_CONFIG_DIR/sqrms-gateway.conf"
    echo "site ready: $SITE (config $SITE/gateway.toml); sshd fragment" \
         "$SSHD_CONFIG_DIR/sqrms-gateway.conf"
}

submitter() {
    [ $# -ge 2 ] || fail "usage: setup-site.sh submitter ID KEY.pub [OPTIONS]"
    id=$1
    key=$2
    shift 2
    [ -f "$key" ] || fail "no public key file $key"
    if ! id -u "$id" >/dev/null 2>&1; then
        # Its own primary group (which reads its receipts), the submitters' group for sshd's
        # Match, no password (key login only; '*' is not a locked account), no shell.
        useradd --user-group --groups "$SUBMITTERS_GROUP" --home-dir / --no-create-home \
            --shell /usr/sbin/nologin --password '*' "$id"
    fi
    id -nG "$id" | tr ' ' '\n' | grep -qx "$SUBMITTERS_GROUP" \
        || fail "account $id exists but is not in $SUBMITTERS_GROUP"
    install -o root -g root -m 0644 "$key" "$KEYS_DIR/$id"
    "$GATEWAY" submitter add "$id" --user "$id" --config "$SITE/gateway.toml" "$@"
}

remove_submitter() {
    [ $# = 1 ] || fail "usage: setup-site.sh remove-submitter ID"
    rm -f "$KEYS_DIR/$1"
    if id -u "$1" >/dev/null 2>&1; then
        userdel "$1"
    fi
}

doctor() {
    # The site as the service account will meet it; each problem is printed with its fix.
    if ! "$GATEWAY" doctor --config "$SITE/gateway.toml" --account "$SERVICE_USER" \
            --sshd-config-dir "$SSHD_CONFIG_DIR" ${SSHD_MAIN_CONFIG:+--sshd-config "$SSHD_MAIN_CONFIG"}; then
        echo "setup-site: gateway doctor found the problems above; fix them before starting" \
             "the service (then run \`$GATEWAY doctor --config $SITE/gateway.toml\` again)" >&2
    fi
}

command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
    site) site; doctor ;;
    submitter) submitter "$@"; doctor ;;
    remove-submitter) remove_submitter "$@" ;;
    *) fail "usage: setup-site.sh site | submitter ID KEY.pub [OPTIONS] | remove-submitter ID" ;;
esac
