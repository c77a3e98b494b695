"""SIP: a sans-I/O parser and transaction layer; only ``sip/server.py`` touches sockets."""
