"""Interop check with slixmpp, a client library nobody here wrote.

Usage: python3 slixmpp_chat.py HOST PORT
Logs in romeo@localhost and juliet@localhost (password "pw": the caller
creates them), over STARTTLS with SCRAM (slixmpp picks the strongest offered
mechanism), binds, fetches the roster and sends initial presence. Then, as
RFC 6121 describes: each adds the other to the roster (roster set, push),
each asks for the other's presence and approves the other's request
(subscribe/subscribed, answered by hand, not by slixmpp's auto-approval),
both rosters reach subscription "both", each sees the other's resource
available, and romeo sends juliet one chat message. Exits 0 and prints
"interop: ok" only when all of that happened.
"""
import asyncio
import ssl
import sys

import slixmpp

HOST, PORT = sys.argv[1], int(sys.argv[2])
BODY = "O Romeo, Romeo, wherefore art thou Romeo?"
ROMEO, JULIET = "romeo@localhost", "juliet@localhost"


def client(jid):
    c = slixmpp.ClientXMPP(jid, "pw")
    # The test server uses a self-signed certificate.
    c.ssl_context = ssl.create_default_context()
    c.ssl_context.check_hostname = False
    c.ssl_context.verify_mode = ssl.CERT_NONE
    c.enable_direct_tls = False  # port 5222: plain TCP, then STARTTLS
    c.enable_plaintext = False
    # Subscription requests are answered below, explicitly.
    c.auto_authorize = None
    c.auto_subscribe = False
    return c


async def wait_for(what, predicate, timeout=10):
    """Polls `predicate` until it holds; fails naming `what` after `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def main():
    loop = asyncio.get_running_loop()
    received = loop.create_future()
    ready = {"romeo": loop.create_future(), "juliet": loop.create_future()}
    asked = {"romeo": loop.create_future(), "juliet": loop.create_future()}
    mechanisms = {}

    juliet = client(JULIET + "/balcony")
    romeo = client(ROMEO + "/orchard")
    clients = {"romeo": romeo, "juliet": juliet}

    def on_message(msg):
        if msg["type"] in ("chat", "normal") and not received.done():
            received.set_result((str(msg["from"]), msg["body"]))

    def started(name, c):
        async def handler(_event):
            mech = getattr(c.plugin["feature_mechanisms"], "mech", None)
            mechanisms[name] = getattr(mech, "name", "?")
            await c.get_roster()
            c.send_presence()
            ready[name].set_result(True)
        return handler

    def failed(name):
        def handler(event):
            if not ready[name].done():
                ready[name].set_exception(RuntimeError(f"{name}: auth failed: {event}"))
        return handler

    def on_subscribe(name, c):
        def handler(pres):
            # Approve by hand: a presence of type "subscribed" (RFC 6121 §3.1.4).
            c.send_presence(pto=pres["from"].bare, ptype="subscribed")
            if not asked[name].done():
                asked[name].set_result(str(pres["from"]))
        return handler

    juliet.add_event_handler("message", on_message)
    for name, c in clients.items():
        c.add_event_handler("session_start", started(name, c))
        c.add_event_handler("failed_auth", failed(name))
        c.add_event_handler("presence_subscribe", on_subscribe(name, c))
        c.connect(HOST, PORT)
    await asyncio.wait_for(asyncio.gather(*ready.values()), 20)

    # Roster: each adds the other; the server's pushes fill the local rosters.
    await romeo.update_roster(JULIET, name="Juliet", groups=["Capulets"])
    await juliet.update_roster(ROMEO, name="Romeo", groups=["Montagues"])
    await wait_for("roster pushes", lambda: romeo.client_roster[JULIET]["name"] == "Juliet"
                   and juliet.client_roster[ROMEO]["groups"] == ["Montagues"])

    # Subscriptions, both ways, each request approved by the other side.
    romeo.send_presence_subscription(pto=JULIET)
    juliet.send_presence_subscription(pto=ROMEO)
    requesters = await asyncio.wait_for(asyncio.gather(asked["juliet"], asked["romeo"]), 10)
    assert requesters == [ROMEO, JULIET], requesters
    await wait_for("mutual subscription", lambda: romeo.client_roster[JULIET]["subscription"] == "both"
                   and juliet.client_roster[ROMEO]["subscription"] == "both")

    # Presence: each sees the other's resource available.
    await wait_for("presence", lambda: "balcony" in romeo.client_roster[JULIET].resources
                   and "orchard" in juliet.client_roster[ROMEO].resources)

    # The roster as the server keeps it, fetched anew.
    romeo.client_roster.version = ""
    await romeo.get_roster()
    item = romeo.client_roster[JULIET]
    assert (item["name"], item["groups"], item["subscription"]) == ("Juliet", ["Capulets"], "both"), item

    romeo.send_message(mto=JULIET, mbody=BODY, mtype="chat")
    sender, body = await asyncio.wait_for(received, 10)
    assert sender == ROMEO + "/orchard", sender
    assert body == BODY, body
    print(f"interop: ok (mechanisms: {mechanisms}; roster, subscriptions, presence and message)")
    for c in clients.values():
        c.disconnect()


asyncio.run(main())
