"""Interop check with slixmpp, a client library nobody here wrote.

Usage: python3 slixmpp_chat.py HOST PORT
Logs in romeo@localhost and juliet@localhost (password "pw": the caller
creates them), over STARTTLS with SCRAM (slixmpp picks the strongest offered
mechanism), binds, sends one chat message from romeo to juliet and waits for
it. Exits 0 and prints "interop: ok" only when the message arrived.
"""
import asyncio
import ssl
import sys

import slixmpp

HOST, PORT = sys.argv[1], int(sys.argv[2])
BODY = "O Romeo, Romeo, wherefore art thou Romeo?"


def client(jid):
    c = slixmpp.ClientXMPP(jid, "pw")
    # The test server uses a self-signed certificate.
    c.ssl_context = ssl.create_default_context()
    c.ssl_context.check_hostname = False
    c.ssl_context.verify_mode = ssl.CERT_NONE
    c.enable_direct_tls = False  # port 5222: plain TCP, then STARTTLS
    c.enable_plaintext = False
    return c


async def main():
    loop = asyncio.get_running_loop()
    received = loop.create_future()
    ready = {"romeo": loop.create_future(), "juliet": loop.create_future()}
    mechanisms = {}

    juliet = client("juliet@localhost/balcony")
    romeo = client("romeo@localhost/orchard")

    def on_message(msg):
        if msg["type"] in ("chat", "normal") and not received.done():
            received.set_result((str(msg["from"]), msg["body"]))

    def started(name, c):
        async def handler(_event):
            mech = getattr(c.plugin["feature_mechanisms"], "mech", None)
            mechanisms[name] = getattr(mech, "name", "?")
            c.send_presence()
            ready[name].set_result(True)
        return handler

    def failed(name):
        def handler(event):
            if not ready[name].done():
                ready[name].set_exception(RuntimeError(f"{name}: auth failed: {event}"))
        return handler

    juliet.add_event_handler("message", on_message)
    for name, c in (("juliet", juliet), ("romeo", romeo)):
        c.add_event_handler("session_start", started(name, c))
        c.add_event_handler("failed_auth", failed(name))
        c.connect(HOST, PORT)

    await asyncio.wait_for(asyncio.gather(*ready.values()), 20)
    await asyncio.sleep(0.3)  # juliet's initial presence is processed
    romeo.send_message(mto="juliet@localhost", mbody=BODY, mtype="chat")
    sender, body = await asyncio.wait_for(received, 10)
    assert sender == "romeo@localhost/orchard", sender
    assert body == BODY, body
    print(f"interop: ok (mechanisms: {mechanisms})")
    for c in (juliet, romeo):
        c.disconnect()


asyncio.run(main())
