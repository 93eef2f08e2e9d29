#!/bin/bash
# Starts or stops a peer XMPP server from the distribution's packages, set up
# for wasmpp-load (see README "Peer servers"): Prosody on 127.0.0.1:25222,
# ejabberd on 127.0.0.1:25223, domain localhost, plaintext, IBR open.
#   load/peers/peers.sh install                 # apt-get install prosody ejabberd
#   load/peers/peers.sh prosody|ejabberd start  # keeps accounts from earlier starts
#   load/peers/peers.sh prosody|ejabberd reset  # stop, and forget all state
#   load/peers/peers.sh prosody|ejabberd pid    # the process to give --server-pid
#   load/peers/peers.sh prosody|ejabberd stop
# State lives under $PEERS_DIR (default /tmp/wasmpp-peers), owned by the
# server's own system user: both refuse to run as root.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
PEERS_DIR=${PEERS_DIR:-/tmp/wasmpp-peers}
export PEERS_DIR

wait_port() {
	i=0
	until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "$2 did not open port $1" >&2; exit 1; }
		sleep 0.2
	done
}

case "${1:-} ${2:-}" in
install\ *)
	# Without policy-rc.d the packages would start their system services on 5222.
	[ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; }
	DEBIAN_FRONTEND=noninteractive apt-get install -y prosody ejabberd
	;;
"prosody start")
	mkdir -p "$PEERS_DIR/prosody/data"
	chown -R prosody "$PEERS_DIR/prosody"
	chmod 755 "$PEERS_DIR"
	# setpriv rather than runuser/su: those open a PAM session, which caps
	# open files at 1024, too few for 10,000 idle sessions.
	setpriv --reuid=prosody --regid=prosody --init-groups env PEERS_DIR="$PEERS_DIR" prosody --config "$here/prosody.cfg.lua" \
		>"$PEERS_DIR/prosody/stdout.log" 2>&1 &
	wait_port 25222 prosody
	;;
"prosody pid") cat "$PEERS_DIR/prosody/prosody.pid" ;;
"prosody stop")
	pid=$(cat "$PEERS_DIR/prosody/prosody.pid" 2>/dev/null) || exit 0
	kill "$pid" 2>/dev/null || true
	while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
	;;
"ejabberd start")
	d="$PEERS_DIR/ejabberd"
	mkdir -p "$d/db" "$d/logs"
	cp "$here/ejabberd.yml" "$d/ejabberd.yml"
	cp /etc/ejabberd/inetrc "$d/inetrc"
	# Debian's ejabberdctl.cfg pins /etc/ejabberd/ejabberd.yml; ours points here.
	printf 'EJABBERD_CONFIG_PATH=%s\nEJABBERD_PID_PATH=%s\n' "$d/ejabberd.yml" "$d/ejabberd.pid" >"$d/ejabberdctl.cfg"
	chown -R ejabberd "$d"
	chmod 755 "$PEERS_DIR"
	# As the ejabberd user (HOME for its Erlang cookie), so ejabberdctl does
	# not switch users through su and its PAM limit of 1024 open files.
	setpriv --reuid=ejabberd --regid=ejabberd --init-groups env HOME=/var/lib/ejabberd \
		ejabberdctl --config-dir "$d" --config "$d/ejabberd.yml" --spool "$d/db" --logs "$d/logs" \
		--ctl-config "$d/ejabberdctl.cfg" start
	# The port opens before the modules are loaded; `started` waits for them.
	setpriv --reuid=ejabberd --regid=ejabberd --init-groups env HOME=/var/lib/ejabberd \
		ejabberdctl --config-dir "$d" --config "$d/ejabberd.yml" --spool "$d/db" --logs "$d/logs" \
		--ctl-config "$d/ejabberdctl.cfg" started
	wait_port 25223 ejabberd
	# Right after a restart with 10,000 accounts, logins were refused with
	# not-authorized for a few seconds (tables still loading): wait them out.
	sleep 5
	;;
"prosody reset" | "ejabberd reset")
	"$0" "$1" stop
	rm -rf "${PEERS_DIR:?}/$1"
	;;
"ejabberd pid") cat "$PEERS_DIR/ejabberd/ejabberd.pid" ;;
"ejabberd stop")
	d="$PEERS_DIR/ejabberd"
	ejabberdctl --config-dir "$d" --config "$d/ejabberd.yml" --spool "$d/db" --logs "$d/logs" \
		--ctl-config "$d/ejabberdctl.cfg" stop >/dev/null 2>&1 || true
	while pgrep -u ejabberd -f 'beam.smp.*ejabberd' >/dev/null; do sleep 0.2; done
	;;
*)
	sed -n '2,/^set -eu/p' "$0" | grep '^#' >&2
	exit 2
	;;
esac
