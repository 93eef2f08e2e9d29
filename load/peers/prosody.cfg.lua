-- Prosody 0.12 (Debian package `prosody`) set up as a peer for wasmpp-load:
-- plaintext c2s on 127.0.0.1:25222, in-band registration open to loopback,
-- offline storage on, and no bandwidth limits (mod_limits off), so the
-- figures measure the server rather than a rate limit. `peers.sh prosody`
-- starts it with its data under $PEERS_DIR/prosody.
local dir = os.getenv("PEERS_DIR") .. "/prosody"

pidfile = dir .. "/prosody.pid"
data_path = dir .. "/data"
log = { warn = dir .. "/prosody.log" }
certificates = "/etc/prosody/certs"

interfaces = { "127.0.0.1" }
c2s_ports = { 25222 }
s2s_ports = { }
http_ports = { }
https_ports = { }
component_ports = { }

modules_enabled = {
	"disco"; "roster"; "saslauth"; "tls"; "ping"; "register"; "offline"; "posix";
}
modules_disabled = { "s2s" }

authentication = "internal_hashed"
storage = "internal"
c2s_require_encryption = false
allow_registration = true
registration_whitelist = { "127.0.0.1" }
min_seconds_between_registrations = 0

VirtualHost "localhost"
