"""The request stages, in the order `handler.handle` runs them (after Prism's request flow).

    0 preferences   the client's choices from `Prefer` headers
    1 routing       method and path -> operation (404 / 405 problems)
      intake        the body, read within `limits`, never failing
    2 validation    what the request breaks (data, not exceptions), with `violations` worded like the vendor
    3 negotiation   WHERE A REPLY IS CHOSEN: success | processing | error | failed, and which named example
                    (`scenario_rules`: the rules file)
    4 generation    WHERE A REPLY IS BUILT: the job, ids, meta (`echo`), URLs, the engine call, fetch state
    5 validation    the mock checks its own reply against the spec
    6 rendering     the vendor's envelope on the wire, the `quirks` of the observed profile, diagnostics

`outputs` serves the image files a reply links to (a download is not a vendor operation).
"""
