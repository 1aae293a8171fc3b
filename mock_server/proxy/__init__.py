"""`mixmock proxy`: stand between a client and the vendor, check both sides, record HAR, learn quirks.

`app.create_proxy_app` is the proxy as an ASGI app; `learn.learn_report` says what a recording shows
about the vendor's quirks. Recordings are replayed by `mock_server.replay`. The modules, in the order
an exchange meets them: urls (what goes through the proxy), forwarding (the only door out), contract
(both sides checked), operations / receiver (spec routes, webhooks), redaction, har, recorder.
"""
