"""A login as it stands on a machine: read on the server (authfile), pushed there (push), made on
this computer (fresh), checked one host or a fleet at a time (status), shared between hosts
(sharers), tried with one prompt (livecheck). May import: server/, ssh/, tokens/, laptop/ and
core's base."""
