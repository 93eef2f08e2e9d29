#!/bin/bash
# The issue-6 comparison: wasmpp and the peer servers through the same
# scenarios, three runs of each, one JSON line per run in OUT/runs.jsonl and
# the medians in OUT/summary.txt. Run it on a quiet machine (nothing else
# compiling) from the repository root after
#   cargo build --release -p wasmpp -p wasmpp-load && load/peers/peers.sh install
#   load/peers/compare.sh OUT [wasmpp] [wasmpp-tls] [chain-share] [prosody] [ejabberd]
# `chain-share` profiles the server (perf, software clock) during each chat
# run and reports the share of its CPU samples spent in the plugin chain:
# WASM code, wasmtime, and wasmpp::plugin (the host side of the imports).
# QUICK=1 shortens every run to a second, to check the set-up only.
# Each target starts from empty state. Chat, paced chat, amp and offline
# share one server process; each idle run gets a fresh process (same
# accounts), so its RSS is not inflated by the runs before it.
set -eu
out=${1:?usage: compare.sh OUT [wasmpp] [wasmpp-tls] [prosody] [ejabberd]}
shift
mkdir -p "$out"
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
load="$root/target/release/wasmpp-load"
server="$root/target/release/wasmpp"
ulimit -n 20000
if [ "${QUICK:-0}" = 1 ]; then dur=1s warm=0s idle_users=200 runs=1; else dur=20s warm=2s idle_users=10000 runs=3; fi

srv_pid=
wasmpp_start() { # $1 = extra flags
	# shellcheck disable=SC2086
	"$server" --c2s-address=127.0.0.1 --c2s-ports=15222 --registration=true --data-dir="$out/wasmpp-data" \
		--scram-iterations=4096 --sess-man/plugins-conf/msgoffline/store-limit=0 \
		--sess-man/plugins-conf/msgoffline/recipient-store-limit=0 $1 >>"$out/wasmpp.log" 2>&1 &
	srv_pid=$!
	until (exec 3<>/dev/tcp/127.0.0.1/15222) 2>/dev/null; do sleep 0.1; done
}
wasmpp_stop() { kill "$srv_pid"; wait "$srv_pid" 2>/dev/null || true; }

# Accounts for a run: set-up, not measured. A second pass registers what
# the first left (existing accounts count as present): ejabberd 23.01
# now and then closes a batch of handshakes with `connection-timeout`
# during a 10,000-account registration.
register() { # load-options users
	# shellcheck disable=SC2086
	"$load" $1 register --users="$2" --concurrency=20 --duration=900s --quiet >/dev/null ||
		"$load" $1 register --users="$2" --concurrency=20 --duration=900s --quiet >/dev/null
}

run() { # target name load-args...
	local target=$1 name=$2
	shift 2
	local line
	line=$("$load" "$@" --json --quiet | tail -1) || true
	case $line in
	\{*) echo "{\"target\":\"$target\",\"run\":\"$name\",${line#\{}" >>"$out/runs.jsonl" ;;
	*) echo "{\"target\":\"$target\",\"run\":\"$name\",\"error\":\"no JSON line\"}" >>"$out/runs.jsonl" ;;
	esac
	echo "$target $name: $line" | cut -c1-200
}

traffic() { # target pid load-options
	local t=$1 pid=$2 o=$3 i
	register "$o" 200
	for i in $(seq $runs); do
		# shellcheck disable=SC2086
		run "$t" chat $o chat --pairs=100 --window=10 --body-size=200 --warmup=$warm --duration=$dur --server-pid="$pid"
	done
	for i in $(seq $runs); do
		# shellcheck disable=SC2086
		run "$t" paced $o chat --pairs=100 --rate=1000 --body-size=200 --warmup=$warm --duration=$dur --server-pid="$pid"
	done
	if [ "$t" = wasmpp ]; then
		for i in $(seq $runs); do
			# shellcheck disable=SC2086
			run "$t" amp $o amp --pairs=100 --window=10 --body-size=200 --warmup=$warm --duration=$dur --server-pid="$pid"
		done
	fi
	for i in $(seq $runs); do
		# shellcheck disable=SC2086
		run "$t" offline $o offline --pairs=10 --messages=1000 --window=50 --timeout=300s
	done
}

idle() { # target load-options start-command stop-command pid-command
	local t=$1 o=$2 i
	$3
	register "$o" "$idle_users"
	$4
	for i in $(seq $runs); do
		$3
		# shellcheck disable=SC2086
		run "$t" idle $o idle --users=$idle_users --concurrency=100 --timeout=600s --duration=10s --server-pid="$(eval "$5")"
		$4
	done
}

for target in "$@"; do
	case $target in
	wasmpp | wasmpp-tls)
		if [ "$target" = wasmpp ]; then
			rm -rf "$out/wasmpp-data"
			wasmpp_start --tls-required=false
			traffic wasmpp "$srv_pid" "--tls=off --port=15222"
			wasmpp_stop
			idle wasmpp "--tls=off --port=15222" "wasmpp_start --tls-required=false" wasmpp_stop "echo \$srv_pid"
		else # the accounts of a `wasmpp` target before it are kept
			idle wasmpp-tls "--tls=on --port=15222" "wasmpp_start --tls-required=true" wasmpp_stop "echo \$srv_pid"
		fi
		;;
	chain-share)
		rm -rf "$out/wasmpp-data"
		WASMPP_PERFMAP=1 wasmpp_start --tls-required=false
		register "--tls=off --port=15222" 200
		for i in $(seq $runs); do
			"$load" --tls=off --port=15222 chat --pairs=100 --window=10 --body-size=200 --warmup=$warm \
				--duration=$dur --quiet --json >"$out/chain-share.$i.json" &
			chat=$!
			sleep "${warm%s}"
			perf record -q -F 999 -p "$srv_pid" -o "$out/perf.$i.data" -- sleep "${dur%s}" 2>/dev/null
			wait $chat
			share=$(perf report -i "$out/perf.$i.data" --no-children --sort dso,sym 2>/dev/null | awk '
				/%/ && !/^#/ { p = $1; sub("%", "", p); t += p; if ($0 ~ /JIT|wasm\[|wasmtime|wasmpp::plugin::/) c += p }
				END { printf "%.1f", 100 * c / t }')
			line=$(tail -1 "$out/chain-share.$i.json")
			echo "{\"target\":\"wasmpp\",\"run\":\"chain-share\",\"chain_cpu_share_pct\":$share,${line#\{}" >>"$out/runs.jsonl"
			echo "chain share $share% of server CPU"
		done
		wasmpp_stop
		;;
	prosody | ejabberd)
		port=25222
		[ "$target" = ejabberd ] && port=25223
		o="--tls=off --port=$port --mechanism=SCRAM-SHA-1"
		"$here/peers.sh" "$target" reset
		"$here/peers.sh" "$target" start
		traffic "$target" "$("$here/peers.sh" "$target" pid)" "$o"
		"$here/peers.sh" "$target" stop
		idle "$target" "$o" "$here/peers.sh $target start" "$here/peers.sh $target stop" "$here/peers.sh $target pid"
		;;
	*) echo "unknown target $target" >&2; exit 2 ;;
	esac
done

python3 - "$out/runs.jsonl" >"$out/summary.txt" <<'PY'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    runs.setdefault((r["target"], r["run"]), []).append(r)
keys = {
    "chat": ["delivered_per_s", "latency_p99_ms", "lost", "server_cpu_cores", "tool_cpu_cores"],
    "paced": ["delivered_per_s", "latency_p99_ms", "lost"],
    "amp": ["delivered_per_s", "latency_p99_ms", "lost", "bounced"],
    "offline": ["store_per_s", "flush_seconds", "stored", "flushed", "delayed"],
    "idle": ["sessions", "server_rss_per_connection_kib"],
    "chain-share": ["chain_cpu_share_pct", "delivered_per_s"],
}
for (target, run), rs in sorted(runs.items()):
    for k in keys.get(run, []):
        vals = [r[k] for r in rs if isinstance(r.get(k), (int, float))]
        if vals:
            each = " / ".join(f"{v:g}" for v in vals)
            print(f"{target:10} {run:8} {k:32} median {statistics.median(vals):>12g}   ({each})")
    for r in rs:
        if "error" in r or r.get("status") != "ok":
            print(f"{target:10} {run:8} {r.get('status', 'FAILED')}: {r.get('error') or r.get('notes')}")
PY
cat "$out/summary.txt"
