"""One SSH connection to a host, as OpenSSH would make it: ssh_config, known_hosts, keys and the
agent, the typed errors, the hosts offered. May import: core's base modules."""
